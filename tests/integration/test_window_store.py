"""The Redis window store meets the same contract as the in-memory one, on the real Redis, and
its bulk reads for the evaluator give what reading every bucket gives."""

from __future__ import annotations

import random
import time
import uuid

from streaming.clients import redis_client
from streaming.window_store import Countable, RedisWindowStore
from streaming.windows import Span, Window
from tests.streaming.window_contract import check_contract, check_rollups, check_scope_bound
from undertow.settings import Settings


def test_redis_store_meets_the_contract(stack: Settings) -> None:
    client = redis_client(stack.redis)
    try:
        check_contract(RedisWindowStore(client, bucket_s=60, retention_s=48 * 3600,
                                        prefix="undertow-test"))  # fmt: skip
        check_scope_bound(RedisWindowStore(client, prefix="undertow-test-bound", max_scopes=3))
        check_rollups(RedisWindowStore(client, retention_s=4 * 86_400, prefix="undertow-test"))
    finally:
        for key in [
            *client.scan_iter("undertow-test:*"),
            *client.scan_iter("undertow-test-bound:*"),
        ]:
            client.delete(key)
        client.close()


def _stream(rng: random.Random, at: float, n: int, scopes: list[str]) -> list[Countable]:
    docs = []
    for _ in range(n):
        ident = uuid.uuid4().hex
        label = rng.choice(("negative", "neutral", "positive"))
        # One in four is a repost of an earlier story (counts in totals, not uniques).
        fp = f"story{rng.randrange(50)}" if rng.random() < 0.25 else ident
        docs.append(Countable(ident, fp, label, rng.uniform(-1, 1), at - rng.uniform(0, 20),
                              ("all", rng.choice(scopes))))  # fmt: skip
    return docs


def _same(got: Window, want: Window) -> bool:
    a, b = got.stats, want.stats
    return (a.total, a.negative, a.neutral, a.positive, got.unique.total) == (
        b.total, b.negative, b.neutral, b.positive, want.unique.total
    ) and abs(a.score_sum - b.score_sum) < 1e-6  # fmt: skip


def test_bulk_windows_equal_bucket_by_bucket_reads_as_the_clock_moves(stack: Settings) -> None:
    # What the evaluator reads each tick (running sums, only the buckets that changed) must be
    # what reading every bucket gives: over 16 minutes of ticks with documents arriving, the
    # windows moving across bucket boundaries, scopes going quiet and coming back.
    client = redis_client(stack.redis)
    prefix = f"undertow-test-sums-{uuid.uuid4().hex[:6]}"
    rng = random.Random(7)
    clock = [time.time()]
    store = RedisWindowStore(client, prefix=prefix, clock=lambda: clock[0])
    scopes = [f"ticker:S{i}" for i in range(12)]
    try:
        for minute in range(130, 0, -1):  # two hours of history, one batch a minute
            store.add(_stream(rng, clock[0] - minute * 60, 5, scopes[:8]))
        mismatches = 0
        for step in range(200):
            if step % 3 == 0:  # a few documents arrive, on some scopes only
                live = scopes[: 4 + (step // 40) % 8]
                store.add(_stream(rng, clock[0], rng.randrange(0, 6), live))
            listed = store.active("ticker", clock[0] - 600)
            wanted = [Span(s, clock[0], 600) for s in ["all", *scopes]]
            base_end = clock[0] - 600
            wanted += [Span(s, base_end, 7200) for s in ["all", *scopes]]
            got = store.windows(wanted)
            want = [store.window(*span) for span in wanted]
            mismatches += sum(not _same(g, w) for g, w in zip(got, want, strict=True))
            assert set(listed) <= {s.partition(":")[2] for s in scopes}
            clock[0] += 5
        assert mismatches == 0
    finally:
        for key in client.scan_iter(f"{prefix}:*"):
            client.delete(key)
        client.close()


def test_documents_counted_after_their_buckets_settled_reach_the_next_bulk_read(
    stack: Settings,
) -> None:
    # A sink catching up after an outage, or a replay, counts into buckets the running sums
    # already hold: the next read must see them, not a refresh minutes later.
    client = redis_client(stack.redis)
    prefix = f"undertow-test-late-{uuid.uuid4().hex[:6]}"
    store = RedisWindowStore(client, prefix=prefix, refresh_s=3600)
    scope = "ticker:LATE"
    try:
        at = time.time()
        store.add(_stream(random.Random(1), at - 1800, 10, [scope]))
        spans = [Span(scope, at - 600, 7200), Span("all", at - 600, 7200), Span(scope, at, 600)]
        assert [w.stats.total for w in store.windows(spans)] == [10, 10, 0]
        assert [w.stats.total for w in store.windows(spans)] == [10, 10, 0]  # rolled, not read
        # Ten more dated half an hour ago, five of them reposts of the first story; and four
        # in the current window, three minutes old (settled too).
        late = _stream(random.Random(2), at - 1800, 10, [scope])
        store.add(late)
        store.add(_stream(random.Random(3), at - 180, 4, [scope]))
        got = store.windows(spans)
        want = [store.window(*span) for span in spans]
        assert [w.stats.total for w in got] == [20, 20, 4]
        assert all(_same(g, w) for g, w in zip(got, want, strict=True))
        store.add(late)  # counted again: nothing changes (the late set names them again)
        assert [w.stats.total for w in store.windows(spans)] == [20, 20, 4]
    finally:
        for key in client.scan_iter(f"{prefix}:*"):
            client.delete(key)
        client.close()
