"""Drift figures of the score worker: predictions and confidence per source, documents unlike
the training data and why, the card's reference beside them; never in the worker's way."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Sequence
from datetime import UTC, datetime

import orjson
from prometheus_client import CollectorRegistry

from models.serving.scorer import Score, Scorer
from streaming.decode import InputSpec
from streaming.dedupe import MemoryDeduper
from streaming.messages import Envelope, MemoryProducer
from streaming.metrics import DriftMetrics, non_latin_share, unlike_training
from streaming.records import RawDoc
from streaming.score_worker import ScoreWorker

NEWS = "in.news"


def _doc(text: str, lang: str | None = None, source: str = "social") -> RawDoc:
    return RawDoc(id="d", text=text, source=source, lang=lang,
                  published_at=datetime(2026, 12, 1, tzinfo=UTC))  # fmt: skip


def _score(
    label: str = "negative", p: float = 0.9, tokens: int = 12, unknown: float = 0.0
) -> Score:
    rest = (1 - p) / 2
    probs = {"negative": rest, "neutral": rest, "positive": rest} | {label: p}
    return Score(label, 0.0, probs, "Earnings", 0.7, "tiny", "v1", tokens, unknown)


def _value(registry: CollectorRegistry, name: str, **labels: str) -> float:
    return registry.get_sample_value(name, labels) or 0.0


def test_why_a_document_is_unlike_the_training_data() -> None:
    assert unlike_training(_doc("Acme shares slump"), _score(), 128) == []
    assert unlike_training(_doc("Acme"), _score(unknown=0.3), 128) == ["unknown_tokens"]
    assert unlike_training(_doc("long " * 200), _score(tokens=128), 128) == ["truncated"]
    assert unlike_training(_doc("日本の株価が急落した"), _score(), 128) == ["language"]
    assert unlike_training(_doc("Aktien fallen", lang="de"), _score(), 128) == ["language"]
    assert unlike_training(_doc("Acme falls", lang="en-GB"), _score(), 128) == []
    assert non_latin_share("Société Générale") == 0.0 and non_latin_share("") == 0.0


def test_predictions_confidence_and_reasons_are_counted_per_source() -> None:
    registry = CollectorRegistry()
    drift = DriftMetrics(registry, 128)
    drift.observe([(_doc("a"), _score("negative", 0.9)), (_doc("b"), _score("neutral", 0.5)),
                   (_doc("日本", source="news"), _score("neutral", 0.6, unknown=0.5))])  # fmt: skip
    sample = "undertow_predictions_total"
    assert _value(registry, sample, source="social", task="sentiment", label="negative") == 1
    assert _value(registry, sample, source="social", task="sentiment", label="neutral") == 1
    assert _value(registry, sample, source="news", task="topic", label="Earnings") == 1
    confidence = "undertow_prediction_confidence_sum"
    assert abs(_value(registry, confidence, source="social", task="sentiment") - 1.4) < 1e-9
    unlike = "undertow_input_unlike_training_total"
    assert _value(registry, unlike, source="news", reason="unknown_tokens") == 1
    assert _value(registry, unlike, source="news", reason="language") == 1
    assert _value(registry, unlike, source="social", reason="language") == 0
    drift.reference("v1", {"sentiment": {"shares": {"negative": 0.16}, "mean_confidence": 0.86}})
    ref = "undertow_model_reference_share"
    assert _value(registry, ref, version="v1", task="sentiment", label="negative") == 0.16
    drift.reference("v2", {})  # a swap to a version without a reference clears the old one
    assert _value(registry, ref, version="v1", task="sentiment", label="negative") == 0


def test_the_worker_shows_every_scored_document_and_shrugs_off_a_failing_observer(
    tiny_scorer: Scorer,
) -> None:
    seen: list[tuple[RawDoc, Score]] = []

    def observe(pairs: Sequence[tuple[RawDoc, Score]]) -> None:
        seen.extend(pairs)
        raise RuntimeError("a broken figure")

    producer = MemoryProducer()
    worker = ScoreWorker(
        tiny_scorer, MemoryDeduper(), producer, specs={NEWS: InputSpec(source="news")},
        scored_topic="out", dlq_topic="dlq", on_scored=observe,
    )  # fmt: skip
    texts = ["oil soars", "fed rates"]
    batch = [Envelope(NEWS, 0, i, b"k", orjson.dumps({"id": f"d{i}", "text": t}),
                      1_700_000_000_000, 0.0) for i, t in enumerate(texts)]  # fmt: skip
    outcome = asyncio.run(worker.handle(batch))
    assert outcome.done == 2 and len(producer.on("out")) == 2
    assert [d.id for d, _ in seen] == ["d0", "d1"]
    assert all(dataclasses.is_dataclass(s) and s.tokens > 0 for _, s in seen)
