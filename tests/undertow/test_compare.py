"""The alert part of `undertow models compare`: the evaluator over the same documents with each
model's labels names the alerts only one of them fires."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from alerting.thresholds import initial_set
from streaming.records import ScoredDoc
from tests.integration.traffic import background, burst, now
from undertow.compare import _alerts
from undertow.settings import Settings


def _answer(doc: ScoredDoc, label: str | None = None) -> dict[str, Any]:
    return {
        "sentiment": {"label": label or doc.sentiment.label, "score": doc.sentiment.score},
        "topic": {"label": doc.topic.label},
    }


def _live(doc: ScoredDoc) -> dict[str, Any]:
    return {"published_at": doc.published_at.isoformat(), "tickers": doc.tickers,
            "source": doc.source, "duplicate_of": doc.duplicate_of} | _answer(doc)  # fmt: skip


def test_a_burst_only_the_live_model_sees_is_an_alert_only_it_fires() -> None:
    t0 = now()
    history = background(t0 - timedelta(hours=3), t0, per_minute=20)
    spike = burst(t0 - timedelta(minutes=8), 6, 15, topic="Earnings", ticker="CMPX")
    # The candidate calls the burst's documents neutral: on its labels nothing spikes.
    joined = [(_live(d), _answer(d)) for d in history]
    joined += [(_live(d), _answer(d, "neutral") | {"sentiment": {"label": "neutral",
                                                                  "score": 0.0}})
               for d in spike]  # fmt: skip
    report = _alerts(joined, initial_set(), Settings(), t0)
    assert any("ticker:CMPX" in a and "negative_spike" in a for a in report["only_live"])
    assert not any("CMPX" in a for a in report["only_candidate"])
    assert report["live"] == report["both"] + len(report["only_live"])


def test_too_little_history_is_said_not_guessed() -> None:
    t0 = now()
    docs = background(t0 - timedelta(minutes=20), t0, per_minute=5)
    report = _alerts([(_live(d), _answer(d)) for d in docs], initial_set(), Settings(), t0)
    assert "history before a first evaluation" in report["skipped"]
