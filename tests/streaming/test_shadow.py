"""The shadow worker's sample: the same documents in every process, about the share asked for."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from models.serving.scorer import Score, Scorer
from streaming.shadow import ShadowWorker, sampled, shadow_id


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


class _Poisoned:
    """A candidate that fails any batch holding the word "poison"."""

    def __init__(self, scorer: Scorer) -> None:
        self.scorer = scorer

    def score(self, texts: Sequence[str]) -> list[Score]:
        if any("poison" in t for t in texts):
            raise RuntimeError("the candidate choked")
        return self.scorer.score(texts)


def test_a_text_the_candidate_fails_costs_its_own_answer_only(tiny_scorer: Scorer) -> None:
    worker = ShadowWorker(_Poisoned(tiny_scorer), None, candidate="c", index="i",  # type: ignore[arg-type]
                          specs={})  # fmt: skip
    answers = worker.score(["oil soars", "poison pill", "fed rates"])
    assert [a.sentiment if a else None for a in answers] == ["positive", None, "neutral"]
    assert worker.score(["oil soars"])[0] is not None
