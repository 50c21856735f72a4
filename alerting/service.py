"""Wiring of the alerting service from the settings: stores, notifiers, evaluator and API."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import redis.asyncio as aioredis
import uvicorn
from fastapi import FastAPI
from kafka import KafkaProducer

from alerting.alert_store import RedisAlertStore
from alerting.alertmanager import AlertmanagerClient, AlertmanagerNotifier
from alerting.api import Services, StreamSlots, create_app
from alerting.auth import KeyRing
from alerting.corrections import CorrectionStore
from alerting.evaluator import Evaluator, Shard, TickReport
from alerting.evidence import EvidenceFinder
from alerting.exceptions import ConfigError
from alerting.lease import RedisLease, holder_id
from alerting.notifiers import (
    Dispatcher,
    ElasticsearchNotifier,
    KafkaNotifier,
    LiveFeedNotifier,
    NotificationWorker,
    Notifier,
    WebhookNotifier,
)
from alerting.settings import AlertingConfig
from alerting.threshold_store import RedisThresholdStore
from streaming.clients import elasticsearch_client, kafka_python_kwargs, redis_client, redis_kwargs
from streaming.indices import alerts_index, corrections_index, docs_pattern
from streaming.window_store import RedisWindowStore

log = logging.getLogger(__name__)


@dataclass
class Alerting:
    """The built service: the API's services and the evaluator."""

    services: Services
    evaluator: Evaluator
    dispatcher: Dispatcher
    producer: KafkaProducer | None
    alertmanager: AlertmanagerNotifier | None = None


def build(settings: AlertingConfig, *, with_kafka: bool = True) -> Alerting:
    """Build the stores, notifiers, evaluator and API services from the settings."""
    keyring = KeyRing.load(keys_file=settings.alerting.api_keys_file)
    if len(keyring) == 0:
        raise ConfigError(
            "no API keys: set UNDERTOW_API_KEYS='analyst:KEY,operator:KEY' "
            "or alerting.api_keys_file"
        )
    prefix = settings.redis.key_prefix
    client = redis_client(settings.redis)
    es = elasticsearch_client(settings.elasticsearch)
    st = settings.streaming
    windows = RedisWindowStore(
        client,
        st.bucket_s,
        st.retention_s,
        prefix=prefix,
        rollup_s=st.rollup_s,
        rollup_retention_s=st.rollup_retention_s,
    )
    thresholds, alerts = RedisThresholdStore(client, prefix), RedisAlertStore(client, prefix)
    notifiers: list[Notifier] = [
        LiveFeedNotifier(client, prefix),
        ElasticsearchNotifier(es, alerts_index(settings.elasticsearch.index_prefix)),
    ]
    producer = None
    if with_kafka:
        producer = KafkaProducer(**kafka_python_kwargs(settings.kafka), acks="all")
        notifiers.append(KafkaNotifier(producer, settings.kafka.topics.alerts))
    alertmanager = _alertmanager(settings)
    if alertmanager is not None:
        notifiers.append(alertmanager)
    notifiers += [
        WebhookNotifier(h, settings.alerting.webhook_attempts) for h in settings.alerting.webhooks
    ]
    pattern = docs_pattern(settings.elasticsearch.index_prefix)
    shard = settings.alerting.shard if settings.alerting.shards > 1 else None
    dispatcher = Dispatcher(notifiers, client, prefix)
    evaluator = Evaluator(
        windows,
        thresholds,
        alerts,
        dispatcher,
        EvidenceFinder(es, pattern),
        bucket_s=st.bucket_s,
        examples=settings.alerting.examples,
        kibana_url=settings.alerting.kibana_url,
        incident_s=settings.alerting.incident_window_s,
        lease=RedisLease(client, prefix, lease_ttl_s(settings), holder_id(), shard),
        shard=Shard(settings.alerting.shard, settings.alerting.shards)
        if shard is not None
        else None,
    )
    services = Services(
        alerts=alerts,
        thresholds=thresholds,
        windows=windows,
        redis=client,
        es=es,
        docs_pattern=pattern,
        keyring=keyring,
        aio_redis=aioredis.Redis.from_url(
            settings.redis.url,
            max_connections=settings.alerting.max_streams + 8,
            **redis_kwargs(settings.redis),
        ),
        prefix=prefix,
        bucket_s=st.bucket_s,
        tick_s=settings.alerting.tick_s,
        retention_s=st.retention_s,
        rollup_s=st.rollup_s,
        streams=StreamSlots(settings.alerting.max_streams_per_key, settings.alerting.max_streams),
        alerts_index=alerts_index(settings.elasticsearch.index_prefix),
        alertmanager=alertmanager.client if alertmanager is not None else None,
        kibana_url=settings.alerting.kibana_url,
        corrections=CorrectionStore(
            es, pattern, corrections_index(settings.elasticsearch.index_prefix)
        ),
    )
    return Alerting(services, evaluator, dispatcher, producer, alertmanager)


def alertmanager_client(settings: AlertingConfig) -> AlertmanagerClient | None:
    """A client of the configured Alertmanager, or None."""
    am = settings.alerting.alertmanager
    if am.url is None:
        return None
    return AlertmanagerClient(am.url, timeout_s=am.timeout_s, attempts=am.attempts)


def _alertmanager(settings: AlertingConfig) -> AlertmanagerNotifier | None:
    client = alertmanager_client(settings)
    if client is None:
        return None
    am = settings.alerting.alertmanager
    return AlertmanagerNotifier(
        client,
        settings.redis.key_prefix,
        settings.alerting.page,
        resend_s=am.resend_s,
        ack_silence_s=am.ack_silence_s,
    )


def lease_ttl_s(settings: AlertingConfig) -> float:
    """How long the active evaluator's lease lasts unrenewed: a standby takes over this long
    (plus a quarter tick) after the active one dies."""
    return settings.alerting.lease_ttl_s or 1.5 * settings.alerting.tick_s


def export_tick(app: FastAPI, report: TickReport) -> None:
    """One tick's figures to the API's Prometheus metrics."""
    app.state.last_tick.set(time.time())
    app.state.tick_seconds.observe(report.seconds)
    for kind, count in report.scopes.items():
        app.state.scopes.labels(kind).set(count)
    app.state.scope_failures.inc(report.failures)


def serve(
    settings: AlertingConfig,
    *,
    evaluate: bool = True,
    log_level: str = "warning",
    extend: Callable[[FastAPI], None] | None = None,
) -> None:
    """Run the API (and the evaluator in a thread) until interrupted; ``extend`` adds the
    shell's routes (scoring) to the application."""
    built = build(settings)
    app = create_app(built.services)
    if extend is not None:
        extend(app)
    events = app.state.alert_events
    built.evaluator.on_event = lambda alert, event: events.labels(event, alert.severity).inc()
    built.evaluator.on_tick = partial(export_tick, app)
    failures = app.state.notification_failures
    built.dispatcher.on_delivery = lambda d: None if d.ok else failures.labels(d.notifier).inc()
    evaluator = built.evaluator
    am_url = settings.alerting.alertmanager.url
    log.info(
        "alerting starting: http://%s:%d, evaluator %s, namespace %s, shard %d of %d, "
        "alertmanager %s", settings.alerting.host, settings.alerting.port,
        "on" if evaluate else "off", settings.redis.key_prefix, settings.alerting.shard,
        settings.alerting.shards, am_url or "none",
        extra={"undertow.role": "alerting", "undertow.evaluator": evaluate,
               "undertow.namespace": settings.redis.key_prefix,
               "undertow.alertmanager": am_url or "none"},
    )  # fmt: skip
    evaluator.inline_delivery = False  # the notification worker delivers, in its own thread
    am = built.alertmanager
    worker = NotificationWorker(
        built.services.alerts,
        evaluator.dispatcher,
        lambda: evaluator.active and evaluator.delivers,
        resend=am.resend if am is not None else None,
        resend_s=settings.alerting.alertmanager.resend_s,
    )
    threads = []
    if evaluate:
        threads = [
            threading.Thread(target=evaluator.run, args=(settings.alerting.tick_s,),
                             name="evaluator", daemon=True),
            threading.Thread(target=worker.run, name="notifications", daemon=True),
        ]  # fmt: skip
        for thread in threads:
            thread.start()
    try:
        # log_config=None: uvicorn's lines go through undertow's logging (text or ECS JSON).
        uvicorn.run(
            app,
            host=settings.alerting.host,
            port=settings.alerting.port,
            log_level=log_level.lower(),
            log_config=None,
        )
    finally:
        evaluator.stop()
        worker.stop()
        for thread in threads:
            thread.join(timeout=settings.alerting.tick_s + 35)
        if built.producer is not None:
            built.producer.close()
