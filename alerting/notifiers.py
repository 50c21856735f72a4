"""Notifiers, one small class each: they deliver an alert event and say how it went.

The notification worker hands every event from the outbox to every notifier and records each
outcome; a notifier that fails (after its own retries, each try bounded by its timeout) does
not stop the others.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

import httpx
import orjson
import redis
from elasticsearch import Elasticsearch
from kafka import KafkaProducer
from kafka.errors import KafkaTimeoutError

from alerting import incidents
from alerting.alert_store import AlertStore, payload
from alerting.history import alert_document
from alerting.records import Alert, AlertEvent
from alerting.settings import WebhookSettings
from streaming import keys
from streaming.retry import RetryLater, TransientHTTPStatus, retrying

log = logging.getLogger(__name__)
DELIVERIES_KEPT = 1000


class Notifier(Protocol):
    """Delivers alert events somewhere."""

    name: str

    def notify(self, alert: Alert, event: AlertEvent) -> None:
        """Deliver, or raise after giving up."""


def _with_retries(name: str, attempts: int, call: Callable[[], object]) -> None:
    """``call`` under the retry policy, ``attempts`` tries in all (transient failures only)."""
    retrying(name, attempts=attempts, max_backoff_s=8.0)(call)


class KafkaNotifier:
    """Produces events to the alerts topic, keyed by alert id."""

    name = "kafka"

    def __init__(
        self, producer: KafkaProducer, topic: str, attempts: int = 3, timeout_s: float = 30.0
    ) -> None:
        self.producer = producer
        self.topic = topic
        self.attempts = attempts
        self.timeout_s = timeout_s

    def notify(self, alert: Alert, event: AlertEvent) -> None:
        """Produce and wait for the acknowledgement (each try up to ``timeout_s``)."""

        def send() -> None:
            future = self.producer.send(
                self.topic,
                key=alert.id.encode(),
                value=payload(alert, event),
                headers=[("event", event.encode())],
            )
            try:
                future.get(timeout=self.timeout_s)
            except KafkaTimeoutError as exc:
                raise RetryLater(f"no acknowledgement within {self.timeout_s:g} s") from exc

        _with_retries(self.name, self.attempts, send)


class ElasticsearchNotifier:
    """Keeps the alerts index up to date (one document per alert, ``_id`` = alert id)."""

    name = "elasticsearch"

    def __init__(self, client: Elasticsearch, index: str, attempts: int = 3) -> None:
        self.client = client
        self.index = index
        self.attempts = attempts

    def notify(self, alert: Alert, event: AlertEvent) -> None:
        """Index the alert as it is now (transient failures retried)."""
        document = alert_document(alert)

        def index() -> object:
            return self.client.index(index=self.index, id=alert.id, document=document)

        _with_retries(self.name, self.attempts, index)


# Events the live feed keeps for pages that reconnect (about a day of a busy desk's events).
FEED_KEPT = 10_000


class LiveFeedNotifier:
    """Appends events to a capped Redis stream; the API's SSE stream relays them to browsers,
    each with its stream id as the event id, so a page that reconnects resumes where it was."""

    name = "live"

    def __init__(self, client: redis.Redis, prefix: str, kept: int = FEED_KEPT) -> None:
        self.client = client
        self.key = keys.alert_feed_key(prefix)
        self.kept = kept

    def notify(self, alert: Alert, event: AlertEvent) -> None:
        """Append (the oldest beyond ``kept`` are trimmed)."""
        self.client.xadd(self.key, {"data": payload(alert, event)}, maxlen=self.kept,
                         approximate=True)  # fmt: skip


def slack_escape(text: str) -> str:
    """Text from data as Slack shows it literally: ``&``, ``<`` and ``>`` escaped, so neither
    ``<!channel>`` nor a link can come from a document."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_text(alert: Alert, event: AlertEvent) -> str:
    """A one-paragraph message for people; everything taken from data is escaped."""
    cur = alert.current
    scope = slack_escape(alert.scope.name).replace("`", "'")
    # The rule's own sentence; an alert stored before rules gave one says its shares.
    why = alert.verdict.get("reason") or (
        f"{cur.get('negative_share', 0):.0%} negative of {int(cur.get('total', 0))} documents "
        f"(baseline {alert.baseline.get('negative_share', 0):.0%})"
    )
    rule = alert.rule.replace("_", " ")
    lines = [f"*{event.upper()}* {alert.severity} {rule} on `{scope}`: {slack_escape(str(why))}."]
    lines += [f"• {slack_escape((ex.title or ex.text)[:140])}" for ex in alert.examples[:3]]
    if related := incidents.summary(alert):
        lines.append(slack_escape(related).replace("`", "'"))
    if alert.kibana_url:
        url = alert.kibana_url.replace("|", "%7C").replace(">", "%3E").replace("<", "%3C")
        lines.append(f"<{url}|Open in Kibana>")
    return "\n".join(lines)


class WebhookNotifier:
    """POSTs events to a URL (generic JSON or Slack), retrying with back-off. Webhooks page
    people: an incident is announced once (``alerting.incidents.announces``); the events of
    the alerts grouped into it are kept, indexed and streamed, not posted."""

    def __init__(
        self,
        hook: WebhookSettings,
        attempts: int = 3,
        sleep: Callable[[float], None] = time.sleep,
        client: httpx.Client | None = None,
    ) -> None:
        self.hook = hook
        self.name = f"webhook:{hook.kind}"
        self.attempts = attempts
        self.sleep = sleep
        self.client = client or httpx.Client(timeout=hook.timeout_s)

    def notify(self, alert: Alert, event: AlertEvent) -> None:
        """POST; retry what the retry policy calls transient; raise after the last attempt."""
        if not incidents.announces(alert, event):
            return
        body = (
            orjson.dumps({"text": slack_text(alert, event)})
            if self.hook.kind == "slack"
            else payload(alert, event)
        )

        def post() -> None:
            resp = self.client.post(
                self.hook.url.get_secret_value(),
                content=body,
                headers={"content-type": "application/json"},
            )
            if resp.status_code >= 300:
                raise TransientHTTPStatus(resp.status_code)

        retrier = retrying(self.name, sleep=self.sleep, attempts=self.attempts, max_backoff_s=8.0)
        try:
            retrier(post)
        except (TransientHTTPStatus, httpx.HTTPError) as exc:
            tries = retrier.statistics.get("attempt_number", 1)
            raise RuntimeError(f"webhook failed after {tries} attempt(s): {exc}") from exc


@dataclass
class Delivery:
    """One notifier's outcome for one event."""

    notifier: str
    alert_id: str
    event: str
    ok: bool
    error: str | None
    at: str


def deliver(notifiers: list[Notifier], alert: Alert, event: AlertEvent) -> list[Delivery]:
    """Deliver to all; a failing notifier is logged and recorded, the rest still run."""
    out = []
    for notifier in notifiers:
        error = None
        try:
            notifier.notify(alert, event)
        except Exception as exc:  # noqa: BLE001 (one notifier must not silence the others)
            error = f"{type(exc).__name__}: {exc}"
            log.warning("notifier %s failed for alert %s: %s", notifier.name, alert.id, error)
        at = datetime.now(UTC).isoformat()
        out.append(Delivery(notifier.name, alert.id, event, error is None, error, at))
    return out


class Dispatch(Protocol):
    """Hands an alert event to the notifiers and records how each delivery went."""

    def dispatch(self, alert: Alert, event: AlertEvent) -> list[Delivery]:
        """Deliver the event; return one outcome per notifier."""


class Dispatcher:
    """Sends each event to every notifier and records every outcome in Redis."""

    def __init__(self, notifiers: list[Notifier], client: redis.Redis, prefix: str) -> None:
        self.notifiers = notifiers
        self.client = client
        self.key = keys.deliveries_key(prefix)
        # Called with every outcome (the service counts the failures for Prometheus).
        self.on_delivery: Callable[[Delivery], None] = lambda delivery: None

    def dispatch(self, alert: Alert, event: AlertEvent) -> list[Delivery]:
        """Deliver to all, then record the outcomes (the latest ``DELIVERIES_KEPT``)."""
        out = deliver(self.notifiers, alert, event)
        for delivery in out:
            self.on_delivery(delivery)
        pipe = self.client.pipeline(transaction=False)
        for d in out:
            pipe.lpush(self.key, orjson.dumps(d.__dict__))
        pipe.ltrim(self.key, 0, DELIVERIES_KEPT - 1)
        pipe.execute()
        return out


class MemoryDispatcher:
    """The same contract in memory: keeps every event and outcome (tests, the backtest)."""

    def __init__(self, notifiers: list[Notifier] | None = None) -> None:
        self.notifiers = notifiers or []
        self.events: list[tuple[Alert, AlertEvent]] = []
        self.deliveries: list[Delivery] = []

    def dispatch(self, alert: Alert, event: AlertEvent) -> list[Delivery]:
        """Deliver to the notifiers given (none by default) and remember the event."""
        self.events.append((alert, event))
        out = deliver(self.notifiers, alert, event)
        self.deliveries += out
        return out


class NotificationWorker:
    """Delivers what evaluations committed to the outbox, oldest first, in a thread of its own,
    while ``active()`` says this process is the active evaluator; the evaluator never waits on
    a notifier. A notification taken and not yet delivered when the process dies stays in
    flight, and the next active evaluator delivers it again first."""

    def __init__(
        self,
        store: AlertStore,
        dispatcher: Dispatch,
        active: Callable[[], bool],
        resend: Callable[[list[Alert]], None] | None = None,
        resend_s: float = 60.0,
    ) -> None:
        self.store = store
        self.dispatcher = dispatcher
        self.active = active
        # Called with the firing alerts every ``resend_s`` (Alertmanager times out alerts that
        # are not sent again).
        self.resend = resend
        self.resend_s = resend_s
        self._resent = 0.0
        self._stop = threading.Event()

    def _resend_due(self) -> None:
        if self.resend is None or time.monotonic() - self._resent < self.resend_s:
            return
        self._resent = time.monotonic()
        try:
            self.resend(self.store.active())
        except Exception:
            log.warning("sending the firing alerts again failed", exc_info=True)

    def run(self) -> None:
        """Deliver until ``stop``; a Redis failure is logged and retried."""
        while not self._stop.is_set():
            if not self.active():
                self._stop.wait(0.25)
                continue
            self._resend_due()
            try:
                notification = self.store.take_notification(1.0)
                if notification is not None:
                    self.dispatcher.dispatch(notification.alert, notification.event)
                    self.store.delivered(notification)
            except redis.RedisError:
                log.warning("the notification outbox is unavailable; trying again", exc_info=True)
                self._stop.wait(1.0)

    def stop(self) -> None:
        """End ``run`` (after the delivery in hand, if any)."""
        self._stop.set()
