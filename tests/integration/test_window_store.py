"""The Redis window store meets the same contract as the in-memory one, on the real Redis, and
its bulk reads for the evaluator give what reading every bucket gives."""

from __future__ import annotations

import random
import time
import uuid

from streaming.clients import redis_client
from streaming.window_store import Countable, RedisWindowStore
from streaming.windows import Span, Window
from tests.streaming.window_contract import check_contract, check_scope_bound
from undertow.settings import Settings


def test_redis_store_meets_the_contract(stack: Settings) -> None:
    client = redis_client(stack.redis)
    try:
        check_contract(RedisWindowStore(client, bucket_s=60, retention_s=48 * 3600,
                                        prefix="undertow-test"))  # fmt: skip
        check_scope_bound(RedisWindowStore(client, prefix="undertow-test-bound", max_scopes=3))
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


def test_a_document_counted_long_after_its_bucket_reaches_the_sums_after_a_refresh(
    stack: Settings,
) -> None:
    client = redis_client(stack.redis)
    prefix = f"undertow-test-late-{uuid.uuid4().hex[:6]}"
    clock = [time.time()]
    store = RedisWindowStore(client, prefix=prefix, refresh_s=120, clock=lambda: clock[0])
    scope = "ticker:LATE"
    try:
        store.add(_stream(random.Random(1), clock[0] - 1800, 10, [scope]))
        span = Span(scope, clock[0] - 600, 7200)
        assert store.windows([span])[0].stats.total == 10
        # Ten more, dated half an hour ago (in settled buckets), counted only now.
        store.add(_stream(random.Random(2), clock[0] - 1800, 10, [scope]))
        assert store.window(*span).stats.total == 20
        assert store.windows([span])[0].stats.total == 10  # the running sum does not know yet
        clock[0] += 2 * 120  # its refresh has come (120 to 240 s)
        span = Span(scope, clock[0] - 600, 7200)
        assert store.windows([span])[0].stats.total == 20
    finally:
        for key in client.scan_iter(f"{prefix}:*"):
            client.delete(key)
        client.close()
