"""Wiring: each worker role as a Faust app with its clients, built from the settings, and
``run_role`` which runs one until it is stopped."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import faust

from models.serving.entities import WatchedLinker
from models.serving.hotswap import SwappingScorer
from models.serving.runtime import live_scorer, registry_for, scorer_for
from streaming.bootstrap import bootstrap
from streaming.clients import elasticsearch_client, redis_client
from streaming.decode import DecodeLimits, InputSpec
from streaming.dedupe import RedisDeduper
from streaming.es_sink import ElasticsearchSink
from streaming.exceptions import ConfigError
from streaming.faust_app import FaustProducer, attach, make_app
from streaming.indices import shadow_index
from streaming.lag import scrape_lag
from streaming.metrics import TimedScorer, WorkerMetrics
from streaming.retention import keep
from streaming.score_worker import Linking, ScoreCounters, ScoreWorker
from streaming.scoring import Scoring
from streaming.settings import PipelineConfig
from streaming.shadow import ShadowWorker
from streaming.sink_worker import SinkCounters, SinkWorker
from streaming.stories import RedisStories
from streaming.topics import consumer_group, inputs
from streaming.window_store import RedisWindowStore

log = logging.getLogger(__name__)
ROLES = ("score", "sink")
# A candidate model scoring the live input on the side (streaming.shadow); never in "all".
SHADOW = "shadow"
REPORT_EVERY_S = 10.0


@dataclass
class Role:
    """A built worker role: its Faust app and what to close when it stops."""

    name: str
    app: faust.App
    closers: list[Callable[[], None]] = field(default_factory=list)

    def close(self) -> None:
        """Release the role's clients and threads."""
        for close in self.closers:
            close()


class _Reporter:
    """Logs a worker's counters at most every REPORT_EVERY_S seconds."""

    def __init__(self, role: str) -> None:
        self.role = role
        self.last = 0.0

    def __call__(self, counters: ScoreCounters | SinkCounters) -> None:
        now = time.monotonic()
        if now - self.last >= REPORT_EVERY_S:
            self.last = now
            log.info("%s worker: %s", self.role, counters)


def _metrics(settings: PipelineConfig, role: str, app: faust.App, *needs: str) -> WorkerMetrics:
    """The role's metrics and probes, served if configured, with its consumer group's lag;
    ready once ``needs`` are marked and its consumer has joined the group."""
    metrics = WorkerMetrics(role, *needs, "consumer")

    async def joined(sender: Any, /, *args: Any, signal: Any, **kwargs: Any) -> None:
        metrics.readiness.mark("consumer")

    app.on_partitions_assigned.connect(joined)
    if metrics.serve(settings.streaming.metrics_port) is not None:
        group = consumer_group(settings.streaming, role)
        metrics.watch_lag(group, lambda: scrape_lag(settings, group))
    return metrics


def input_specs(settings: PipelineConfig) -> dict[str, InputSpec]:
    """How each input topic's JSON maps onto RawDoc, by topic (every input's sources known)."""
    configured = inputs(settings.kafka.topics, settings.streaming)
    sources = frozenset(i.source for i in configured)
    return {
        i.topic: InputSpec(i.source, i.fields, sources, tuple(i.time_formats)) for i in configured
    }


def decode_limits(settings: PipelineConfig) -> DecodeLimits:
    """What an input document may be, as the settings say."""
    st = settings.streaming
    return DecodeLimits(
        max_bytes=st.max_message_bytes,
        max_text_chars=st.max_text_chars,
        max_future=timedelta(seconds=st.max_clock_skew_s),
        max_age=timedelta(days=settings.elasticsearch.retention_days),
        max_tickers=st.max_tickers,
    )


def linking(settings: PipelineConfig) -> Linking | None:
    """Company names → tickers as configured (None: cashtags and the feed's tickers only)."""
    st = settings.streaming
    return Linking(WatchedLinker(st.watchlist), st.entity_min_relevance) if st.entities else None


def scoring_for(settings: PipelineConfig) -> Scoring:
    """Scoring on request with the score worker's model, limits, masking and linking."""
    return Scoring(
        live_scorer(settings.models),
        limits=decode_limits(settings),
        linking=linking(settings),
        mask=settings.streaming.mask_pii,
        sources=frozenset(spec.source for spec in input_specs(settings).values()),
    )


def score_role(settings: PipelineConfig) -> Role:
    """Input topics → decode/DLQ → dedupe → micro-batched scoring → the scored topic."""
    app = make_app(settings, "score")
    st, topics = settings.streaming, settings.kafka.topics
    specs = input_specs(settings)
    metrics = _metrics(settings, "score", app, "model")
    scorer = live_scorer(settings.models)
    metrics.readiness.mark("model")
    drift = metrics.watch_drift(settings.models.max_length)
    redis = redis_client(settings.redis)
    worker = ScoreWorker(
        TimedScorer(scorer, metrics),
        RedisDeduper(redis, st.dedupe_ttl_s, settings.redis.key_prefix),
        FaustProducer(app),
        specs=specs,
        scored_topic=topics.scored,
        dlq_topic=topics.dlq,
        limits=decode_limits(settings),
        max_backoff_s=st.max_backoff_s,
        on_batch=_Reporter("score"),
        mask=st.mask_pii,
        linking=linking(settings),
        on_scored=drift.observe,
        stories=RedisStories(
            redis,
            settings.redis.key_prefix,
            similarity=st.story_similarity,
            horizon_s=st.story_horizon_s,
        )
        if st.stories
        else None,
    )
    attach(
        app,
        list(specs),
        metrics.instrument(worker.handle),
        max_batch=st.max_batch,
        max_wait_s=st.max_wait_ms / 1000,
        in_flight=st.batches_in_flight,
    )
    role = Role("score", app, [redis.close, lambda: worker.executor.shutdown(wait=False)])
    if isinstance(scorer, SwappingScorer):
        role.closers.append(scorer.stop)
        scorer.on_load_failure = lambda version: metrics.model_load_failures.labels(version).inc()
    model = scorer.scorer if isinstance(scorer, SwappingScorer) else scorer
    _started("score", settings, list(specs), topics.scored, {
        "undertow.model.name": model.name, "undertow.model.version": model.version,
        "undertow.model.device": model.runtime.device,
        "undertow.model.variant": model.runtime.variant,
        "undertow.model.providers": ",".join(model.runtime.providers),
    })  # fmt: skip
    return role


def _started(
    role: str, settings: PipelineConfig, inputs: list[str], output: str, more: dict[str, str]
) -> None:
    """The component's one start-up line: what it reads and writes, as which group, and its
    model (structured fields in JSON logs)."""
    group = consumer_group(settings.streaming, role)
    details = " ".join(f"{k.rsplit('.', 1)[-1]}={v}" for k, v in more.items())
    fields = {"undertow.role": role, "undertow.inputs": inputs, "undertow.output": output,
              "undertow.group": group} | more  # fmt: skip
    log.info("%s worker starting: %s -> %s, group %s %s", role, ",".join(inputs), output, group,
             details, extra=fields)  # fmt: skip


def sink_role(settings: PipelineConfig) -> Role:
    """The scored topic → Redis windows + Elasticsearch, acked after both."""
    app = make_app(settings, "sink")
    st, topics = settings.streaming, settings.kafka.topics
    redis = redis_client(settings.redis)
    es = elasticsearch_client(settings.elasticsearch)
    metrics = _metrics(settings, "sink", app)
    worker = SinkWorker(
        RedisWindowStore(
            redis,
            st.bucket_s,
            st.retention_s,
            prefix=settings.redis.key_prefix,
            max_scopes=st.max_scopes,
            rollup_s=st.rollup_s,
            rollup_retention_s=st.rollup_retention_s,
        ),
        ElasticsearchSink(
            es,
            max_backoff_s=st.max_backoff_s,
            index_prefix=settings.elasticsearch.index_prefix,
            on_retry=lambda what: metrics.retries.labels(what).inc(),
        ),
        FaustProducer(app),
        dlq_topic=topics.dlq,
        max_value_bytes=st.max_message_bytes,
        max_backoff_s=st.max_backoff_s,
        on_batch=_Reporter("sink"),
    )
    es_settings = settings.elasticsearch

    async def retention() -> None:  # expired daily indices: at start, then hourly
        await keep(es, es_settings.index_prefix, es_settings.retention_days, every_s=3600.0)

    app.task(retention)
    attach(
        app,
        [topics.scored],
        metrics.instrument(worker.handle),
        max_batch=st.sink_max_batch,
        max_wait_s=st.sink_max_wait_ms / 1000,
    )
    hosts = ",".join(settings.elasticsearch.hosts)
    _started("sink", settings, [topics.scored], f"redis+elasticsearch({hosts})", {
        "undertow.index_prefix": es_settings.index_prefix,
        "undertow.redis_prefix": settings.redis.key_prefix,
    })  # fmt: skip
    return Role("sink", app, [redis.close, es.close])


def shadow_role(settings: PipelineConfig) -> Role:
    """The input topics → a candidate model (``streaming.shadow_model``) → the shadow index, in
    a consumer group of its own; nothing the live pipeline writes is touched."""
    st = settings.streaming
    candidate = st.shadow_model
    if candidate is None:
        raise ConfigError("streaming.shadow_model: the shadow role needs a candidate version")
    # One group per candidate: a new candidate starts from the earliest retained input.
    shadow_settings = settings.model_copy(  # type: ignore[attr-defined]
        update={
            "streaming": st.model_copy(update={"group_prefix": f"{st.group_prefix}-{candidate}"})
        }
    )
    app = make_app(shadow_settings, "shadow")
    specs = input_specs(settings)
    metrics = _metrics(shadow_settings, "shadow", app, "model")
    scorer = scorer_for(settings.models, registry_for(settings.models).path(candidate))
    metrics.readiness.mark("model")
    es = elasticsearch_client(settings.elasticsearch)
    worker = ShadowWorker(
        TimedScorer(scorer, metrics),
        es,
        candidate=scorer.version,
        index=shadow_index(settings.elasticsearch.index_prefix),
        specs=specs,
        limits=decode_limits(settings),
        sample=st.shadow_sample,
        max_backoff_s=st.max_backoff_s,
    )
    attach(
        app,
        list(specs),
        metrics.instrument(worker.handle),
        max_batch=st.max_batch,
        max_wait_s=st.max_wait_ms / 1000,
    )
    output = shadow_index(settings.elasticsearch.index_prefix)
    _started("shadow", shadow_settings, list(specs), output, {
        "undertow.model.version": scorer.version, "undertow.shadow.sample": str(st.shadow_sample),
    })  # fmt: skip
    return Role("shadow", app, [es.close, lambda: worker.executor.shutdown(wait=False)])


BUILDERS: dict[str, Callable[[PipelineConfig], Role]] = {
    "score": score_role,
    "sink": sink_role,
    "shadow": shadow_role,
}


def run_role(settings: PipelineConfig, name: str, log_level: str = "WARNING") -> int:
    """Run one role in this process until SIGINT/SIGTERM; return the exit code."""
    bootstrap(settings)
    settings.streaming.data_dir.mkdir(parents=True, exist_ok=True)
    role = BUILDERS[name](settings)
    worker = faust.Worker(
        role.app, loglevel=log_level, quiet=True, redirect_stdouts=False, override_logging=False
    )
    # Faust's terminal spinner writes control codes to stdout even when it is not a terminal:
    # a log file, or a line of JSON logs, would carry them.
    worker.spinner = None
    try:
        worker.execute_from_commandline()
    except SystemExit as exc:
        return int(exc.code or 0) if not isinstance(exc.code, str) else 1
    finally:
        role.close()
    return 0
