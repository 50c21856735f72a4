"""The shadow worker's sample: the same documents in every process, about the share asked for."""

from __future__ import annotations

import pytest

from streaming.shadow import sampled, shadow_id


@pytest.mark.parametrize("rate", [0.05, 0.25, 0.5])
def test_the_sample_keeps_about_the_share_asked_for_and_the_same_ids(rate: float) -> None:
    ids = [f"doc-{i}" for i in range(20_000)]
    kept = [i for i in ids if sampled(i, rate)]
    assert abs(len(kept) / len(ids) - rate) < 0.015
    assert kept == [i for i in ids if sampled(i, rate)]  # stable: no process state
    # A larger sample holds the smaller one: raising the rate adds documents, drops none.
    assert set(kept) <= {i for i in ids if sampled(i, min(1.0, rate * 2))}


def test_everything_at_rate_one_and_answers_keyed_by_candidate() -> None:
    assert all(sampled(f"d{i}", 1.0) for i in range(100))
    assert shadow_id("v6", "doc-1") != shadow_id("v7", "doc-1")
