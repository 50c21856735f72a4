"""Window arithmetic and the in-memory store (the fake the alerting tests use)."""

from __future__ import annotations

import time

from hypothesis import given, settings
from hypothesis import strategies as st

from streaming.window_store import Countable, MemoryWindowStore
from streaming.windows import Stats, bucket_start, bucket_starts
from tests.streaming.window_contract import check_contract, check_rollups, check_scope_bound


def test_memory_store_meets_the_contract() -> None:
    check_contract(MemoryWindowStore(retention_s=48 * 3600))
    check_scope_bound(MemoryWindowStore(retention_s=48 * 3600, max_scopes=3))
    check_rollups(MemoryWindowStore(retention_s=4 * 86_400))


def test_bucket_starts_cover_the_window_ending_with_the_current_bucket() -> None:
    assert bucket_starts(1000, 180, 60) == [840, 900, 960]
    assert bucket_starts(1000, 30, 60) == [960]
    assert bucket_start(959.9, 60) == 900


@settings(max_examples=200, deadline=None)
@given(st.floats(min_value=0, max_value=4e9), st.sampled_from([1, 10, 60, 300]))
def test_a_time_lies_in_its_bucket(t: float, size: int) -> None:
    start = bucket_start(t, size)
    assert start <= t < start + size
    assert start % size == 0


events = st.lists(
    st.tuples(
        st.sampled_from(["negative", "neutral", "positive"]),
        st.floats(min_value=-1, max_value=1),
        st.integers(min_value=0, max_value=3599),
        st.integers(min_value=0, max_value=5),  # fingerprint group
    ),
    max_size=40,
)


@settings(max_examples=100, deadline=None)
@given(events, st.integers(min_value=0, max_value=3))
def test_window_sums_equal_the_documents_and_replays_change_nothing(
    evs: list[tuple[str, float, int, int]], replays: int
) -> None:
    now = time.time()
    store = MemoryWindowStore(bucket_s=60)
    docs = [
        Countable(f"d{i}", f"fp{g}", label, score, now - age, ("all",))
        for i, (label, score, age, g) in enumerate(evs)
    ]
    for _ in range(replays + 1):
        store.add(docs)
    window = store.window("all", now, 3660).stats
    assert window.total == len(docs)
    assert window.negative == sum(1 for d in docs if d.label == "negative")
    assert abs(window.score_sum - sum(d.score for d in docs)) < 1e-6
    assert store.window("all", now, 3660).unique.total == len({d.fingerprint for d in docs})


def test_stats_add_and_derive() -> None:
    s = Stats(2, 1, 1, 0, -0.5) + Stats(2, 1, 0, 1, 0.3)
    assert (s.total, s.negative, s.negative_share) == (4, 2, 0.5)
    assert abs(s.mean_score - (-0.05)) < 1e-9
    assert Stats().as_dict()["negative_share"] == 0.0
