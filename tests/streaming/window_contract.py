"""The WindowStore contract, run against every implementation (memory here, Redis in
tests/integration)."""

from __future__ import annotations

import time
import uuid

from streaming.window_store import Countable, WindowStore
from streaming.windows import Span

BUCKET = 60


def _doc(label: str, score: float, event_s: float, *, fp: str | None = None,
         scopes: tuple[str, ...] = ("all",)) -> Countable:  # fmt: skip
    doc_id = uuid.uuid4().hex
    return Countable(doc_id, fp or doc_id, label, score, event_s, scopes)


def check_contract(store: WindowStore) -> None:
    """Counting, idempotence, uniques, buckets by event time, late and too-old documents."""
    tag = uuid.uuid4().hex[:8]
    ticker = f"ticker:T{tag}"
    now = time.time()
    docs = [
        _doc("negative", -0.9, now, scopes=("all", ticker)),
        _doc("negative", -0.7, now, fp="story-" + tag, scopes=(ticker,)),
        _doc("positive", 0.8, now - 10 * BUCKET, scopes=(ticker,)),  # late but in retention
    ]
    repost = _doc("negative", -0.6, now, fp="story-" + tag, scopes=(ticker,))
    assert store.add(docs) == 4
    assert store.add([repost]) == 1
    assert store.add([*docs, repost]) == 0  # replay: nothing changes

    window = store.window(ticker, now, 15 * BUCKET)
    assert window.stats.total == 4
    assert (window.stats.negative, window.stats.positive) == (3, 1)
    assert window.unique.total == 3  # the repost counts in totals only
    assert abs(window.stats.score_sum - (-0.9 - 0.7 + 0.8 - 0.6)) < 1e-6
    assert window.stats.negative_share == 0.75
    assert len(window.starts) == 15
    assert sum(b.total for b in window.buckets[-1:]) == 3  # the bucket holding "now"

    recent = store.window(ticker, now, 5 * BUCKET)
    assert recent.stats.total == 3  # the late document is in an older bucket

    ancient = _doc("negative", -1.0, now - 10 * 24 * 3600, scopes=(ticker,))
    assert store.add([ancient]) == 0  # outside the retention: indexed elsewhere, not counted
    assert f"T{tag}" in store.scopes("ticker")
    empty = store.window(f"ticker:none{tag}", now, 3600)
    assert (empty.stats.total, empty.stats.negative_share, empty.stats.mean_score) == (0, 0.0, 0.0)


def check_scope_bound(store: WindowStore) -> None:
    """A store made with ``max_scopes=3`` keeps the three most recently seen values of a
    kind: the longest idle are forgotten first, and a late document does not age its scope."""
    now = time.time()
    names = [f"S{i}{uuid.uuid4().hex[:4].upper()}" for i in range(5)]
    for i, name in enumerate(names):  # S0 idle longest, S4 seen last
        store.add([_doc("neutral", 0.0, now - 100 + i, scopes=(f"ticker:{name}",))])
    assert store.scopes("ticker") == [names[4], names[3], names[2]]
    store.add([_doc("neutral", 0.0, now - 3600, scopes=(f"ticker:{names[2]}",))])  # late
    store.add([_doc("neutral", 0.0, now, scopes=(f"ticker:{names[0]}",))])  # back again
    assert store.scopes("ticker") == [names[0], names[4], names[3]]


def check_rollups(store: WindowStore) -> None:
    """Counts are kept per rollup period (half an hour) as well, for seasonal baselines: a
    span's periods come summed, with the seconds they cover. For a store made with a retention
    of three days or more."""
    scope = f"ticker:R{uuid.uuid4().hex[:6].upper()}"
    half = 1800
    start = (int(time.time()) // half - 96) * half  # two days ago, where a period begins
    docs = [
        _doc("negative", -0.8, start + 60, scopes=(scope,)),
        _doc("neutral", 0.0, start + half - 60, scopes=(scope,)),
        _doc("positive", 0.6, start + half + 60, scopes=(scope,)),
    ]
    assert store.add(docs) == 3
    one, both, none = store.rollups([
        Span(scope, start + 900, 600),  # inside the first period
        Span(scope, start + half + 300, 600),  # across the edge of the two
        Span(scope, start - 3 * half + 900, 600),  # before anything was counted
    ])  # fmt: skip
    assert (one.stats.total, one.stats.negative, one.span_s) == (2, 1, half)
    assert (both.stats.total, both.stats.positive, both.span_s) == (3, 1, 2 * half)
    assert abs(both.stats.score_sum - (-0.8 + 0.0 + 0.6)) < 1e-6
    assert (none.stats.total, none.span_s) == (0, half)
