"""Prometheus metrics of a worker process, served on ``streaming.metrics_port`` (+ role offset).

Documents in per topic and out, dead letters per reason, batch sizes, how long a batch's first
document waited, inference time, the delay of each stage (input record → scored and produced;
scored record → indexed and counted), sink retries, and the worker's consumer group's lag per
partition, read from Kafka when scraped. The score worker also exports what drifts: predicted
labels and confidences per source, tokens read, documents unlike the training data, and the
model card's reference figures on dev beside them.
"""

from __future__ import annotations

import logging
import time
from collections import Counter as TopicCount
from collections.abc import Awaitable, Callable, Coroutine, Iterator, Sequence
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from models.serving.scorer import Score
from streaming import probes
from streaming.messages import Envelope, Outcome
from streaming.records import RawDoc

log = logging.getLogger(__name__)

SECONDS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
SIZES = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)
ROLE_PORT_OFFSET = {"score": 0, "sink": 1, "shadow": 2}


class WorkerMetrics:
    """One worker's metrics in their own registry."""

    def __init__(self, role: str, *needs: str) -> None:
        self.role = role
        # What the worker waits for before /ready answers 200 (e.g. "model", "consumer").
        self.readiness = probes.Readiness(*needs)
        self.registry = CollectorRegistry()
        r = self.registry
        self.docs_in = Counter(
            "undertow_documents_in", "Messages consumed", ["role", "topic"], registry=r
        )
        self.docs_out = Counter(
            "undertow_documents_out",
            "Documents done (score: scored and produced; sink: indexed and counted)",
            ["role"],
            registry=r,
        )
        self.dead = Counter(
            "undertow_dead_lettered", "Messages sent to the dead-letter topic", ["role"], registry=r
        )
        self.batch_size = Histogram(
            "undertow_batch_size", "Messages per batch", ["role"], buckets=SIZES, registry=r
        )
        self.batch_wait = Histogram(
            "undertow_batch_wait_seconds",
            "How long the first message of a batch waited for the batch to go",
            ["role"],
            buckets=SECONDS,
            registry=r,
        )
        self.inference = Histogram(
            "undertow_inference_seconds", "Scorer time per batch", buckets=SECONDS, registry=r
        )
        self.stage_delay = Histogram(
            "undertow_stage_delay_seconds",
            "From the consumed record's Kafka timestamp to done (score + sink = end to end)",
            ["role"],
            buckets=SECONDS,
            registry=r,
        )
        self.retries = Counter(
            "undertow_sink_retries",
            "Sink write attempts that had to be retried",
            ["what"],
            registry=r,
        )
        self.model = Gauge(
            "undertow_model_info", "The model version scoring now (1)", ["version"], registry=r
        )
        self.model_load_failures = Counter(
            "undertow_model_load_failures",
            "Promoted model versions this worker could not load (it kept the one it had)",
            ["version"],
            registry=r,
        )

    def watch_drift(self, max_tokens: int) -> DriftMetrics:
        """Per-source prediction and input figures for drift alerts (the score worker's)."""
        self.drift = DriftMetrics(self.registry, max_tokens)
        return self.drift

    def watch_lag(self, group: str, read: Callable[[], dict[tuple[str, int], int] | None]) -> None:
        """Export ``group``'s lag per partition, read by ``read`` at every scrape."""
        self.registry.register(ConsumerLag(group, read))

    def serve(self, base_port: int | None) -> int | None:
        """Serve /metrics, /healthz and /ready on ``base_port`` + the role's offset; None if
        off or the port is taken (a second worker of the same role on one host: it runs on,
        without them)."""
        if base_port is None:
            return None
        port = base_port + ROLE_PORT_OFFSET.get(self.role, 0)
        try:
            probes.serve(port, self.registry, self.readiness)
        except OSError as exc:
            log.warning(
                "%s worker: metrics port %d unavailable (%s); no metrics", self.role, port, exc
            )
            return None
        log.info("%s worker: Prometheus metrics on :%d/metrics", self.role, port)
        return port

    def instrument(
        self,
        handler: Callable[[list[Envelope]], Awaitable[Outcome]],
    ) -> Callable[[list[Envelope]], Coroutine[Any, Any, Outcome]]:
        """``handler`` measured: batch size and wait before, documents and delays after."""
        role = self.role
        size, wait = self.batch_size.labels(role), self.batch_wait.labels(role)
        out, dead, delay = (
            self.docs_out.labels(role),
            self.dead.labels(role),
            self.stage_delay.labels(role),
        )

        async def measured(batch: list[Envelope]) -> Outcome:
            now = time.time()
            size.observe(len(batch))
            if batch:
                wait.observe(max(0.0, now - min(e.received_s for e in batch)))
            for topic, n in TopicCount(e.topic for e in batch).items():
                self.docs_in.labels(role, topic).inc(n)
            outcome = await handler(batch)
            finished = time.time()
            out.inc(outcome.done)
            dead.inc(outcome.dead_lettered)
            for env in batch:
                if env.timestamp_ms:
                    delay.observe(max(0.0, finished - env.timestamp_ms / 1000))
            return outcome

        return measured


CONFIDENCE = (0.35, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99, 1.0)
TOKENS = (8, 16, 32, 64, 96, 128, 256, 512)
# Above this share of unknown tokens, or of letters outside the Latin scripts, a text is not
# like the English financial text the model was trained on.
UNKNOWN_SHARE = 0.1
NON_LATIN_SHARE = 0.5


def non_latin_share(text: str) -> float:
    """The share of a text's letters outside the Latin scripts (a language signal)."""
    letters = [c for c in text if c.isalpha()]
    return sum(1 for c in letters if ord(c) > 0x24F) / len(letters) if letters else 0.0


def unlike_training(doc: RawDoc, score: Score, max_tokens: int) -> list[str]:
    """Why a document is unlike the training data (none: it is like it)."""
    reasons = []
    if score.unknown_share > UNKNOWN_SHARE:
        reasons.append("unknown_tokens")
    if score.tokens >= max_tokens:
        reasons.append("truncated")
    if non_latin_share(doc.text) > NON_LATIN_SHARE or (doc.lang or "en")[:2].lower() != "en":
        reasons.append("language")
    return reasons


class DriftMetrics:
    """What the model says per source and how unlike the training data its inputs are, beside
    the card's reference figures on dev: the drift rules compare the two."""

    def __init__(self, registry: CollectorRegistry, max_tokens: int) -> None:
        self.max_tokens = max_tokens
        r = registry
        self.predictions = Counter(
            "undertow_predictions", "Documents scored, by source, task and predicted label",
            ["source", "task", "label"], registry=r,
        )  # fmt: skip
        self.confidence = Histogram(
            "undertow_prediction_confidence", "Probability of the predicted label",
            ["source", "task"], buckets=CONFIDENCE, registry=r,
        )  # fmt: skip
        self.tokens = Histogram(
            "undertow_input_tokens", "Tokens the model read per document", ["source"],
            buckets=TOKENS, registry=r,
        )  # fmt: skip
        self.unlike = Counter(
            "undertow_input_unlike_training",
            "Documents unlike the training data, by reason (unknown_tokens, truncated, language)",
            ["source", "reason"], registry=r,
        )  # fmt: skip
        self.reference_share = Gauge(
            "undertow_model_reference_share",
            "The share of each label the model predicts on its dev splits (from its card)",
            ["version", "task", "label"], registry=r,
        )  # fmt: skip
        self.reference_confidence = Gauge(
            "undertow_model_reference_confidence",
            "The mean probability of the predicted label on the dev splits (from its card)",
            ["version", "task"], registry=r,
        )  # fmt: skip

    def reference(self, version: str, reference: dict[str, Any]) -> None:
        """The card's dev figures of the version scoring now (the only one exported)."""
        self.reference_share.clear()
        self.reference_confidence.clear()
        for task, figures in reference.items():
            for label, share in figures.get("shares", {}).items():
                self.reference_share.labels(version, task, label).set(share)
            if figures.get("mean_confidence") is not None:
                self.reference_confidence.labels(version, task).set(figures["mean_confidence"])

    def observe(self, scored: Sequence[tuple[RawDoc, Score]]) -> None:
        """Count one batch's documents and answers."""
        for doc, score in scored:
            source = doc.source
            sentiment_p = score.sentiment_probs.get(score.sentiment, 0.0)
            self.predictions.labels(source, "sentiment", score.sentiment).inc()
            self.predictions.labels(source, "topic", score.topic).inc()
            self.confidence.labels(source, "sentiment").observe(sentiment_p)
            self.confidence.labels(source, "topic").observe(score.topic_confidence)
            self.tokens.labels(source).observe(score.tokens)
            for reason in unlike_training(doc, score, self.max_tokens):
                self.unlike.labels(source, reason).inc()


class ConsumerLag(Collector):
    """``undertow_consumer_lag{group, topic, partition}``: messages not yet committed, read when
    scraped (so it is as fresh as the scrape, and costs nothing between scrapes)."""

    def __init__(self, group: str, read: Callable[[], dict[tuple[str, int], int] | None]) -> None:
        self.group = group
        self.read = read

    def describe(self) -> Iterator[GaugeMetricFamily]:
        """The series' name for the registry's checks, without reading Kafka."""
        yield self._family()

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = self._family()
        for (topic, partition), n in sorted((self.read() or {}).items()):
            family.add_metric([self.group, topic, str(partition)], n)
        yield family

    @staticmethod
    def _family() -> GaugeMetricFamily:
        return GaugeMetricFamily(
            "undertow_consumer_lag",
            "Messages produced but not yet committed by the consumer group, per partition",
            labels=["group", "topic", "partition"],
        )


class TimedScorer:
    """A scorer whose ``score`` calls are timed into ``metrics.inference``."""

    def __init__(self, scorer: Any, metrics: WorkerMetrics) -> None:
        self.scorer = scorer
        self.metrics = metrics
        self.version: str | None = None

    def score(self, texts: Sequence[str]) -> Any:
        began = time.perf_counter()
        scores = self.scorer.score(texts)
        self.metrics.inference.observe(time.perf_counter() - began)
        if scores and scores[0].model_version != self.version:  # a hot swap happened
            self.version = scores[0].model_version
            self.metrics.model.clear()
            self.metrics.model.labels(self.version).set(1)
            card = getattr(getattr(self.scorer, "scorer", self.scorer), "card", None)
            drift = getattr(self.metrics, "drift", None)
            if drift is not None and card is not None:
                drift.reference(self.version, getattr(card, "reference", None) or {})
        return scores
