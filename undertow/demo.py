"""``undertow demo``: the stack, the workers, the alerting service, the bundled sample feed and a
live summary.

The feed (deploy/demo/feed.jsonl, MIT-licensed tweets) holds two hours of history, replayed at
once with event times in the past, and a burst of clearly negative oil news on the ticker ACME
that arrives while ordinary live documents keep coming (a pool of other tweets). Every run
gives the documents fresh ids, and the demo keeps its windows and alerts under their own Redis
key prefix (``undertow-demo``, cleared at start), so a second demo is scored, counted and alerted
on like the first (the same stories again would otherwise be reposts).
"""

from __future__ import annotations

import heapq
import itertools
import logging
import os
import secrets
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
from kafka import KafkaProducer
from kafka.errors import KafkaError
from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from alerting.alert_store import RedisAlertStore
from alerting.alertmanager import NAMESPACE, AlertmanagerError
from alerting.auth import KEYS_ENV
from alerting.service import alertmanager_client
from deploy.stack.manager import Stack
from streaming.bootstrap import bootstrap
from streaming.clients import (
    delete_prefixed,
    elasticsearch_client,
    kafka_python_kwargs,
    redis_client,
)
from streaming.indices import docs_pattern
from streaming.lag import lag
from streaming.retry import TransientHTTPStatus
from streaming.window_store import RedisWindowStore
from streaming.workers import ROLES
from undertow.settings import Settings
from undertow.supervisor import Supervisor, worker_args

log = logging.getLogger(__name__)
FEED = Path(__file__).resolve().parents[1] / "deploy" / "demo" / "feed.jsonl"
TOPIC_ROWS = 12
DEMO_PREFIX = "undertow-demo"


def load_feed(path: Path = FEED) -> list[dict[str, Any]]:
    """The feed's items: timed ones (``offset_s``) in time order, then the live pool."""
    items = [orjson.loads(line) for line in path.read_bytes().splitlines() if line.strip()]
    timed = sorted((i for i in items if "offset_s" in i), key=lambda d: d["offset_s"])
    return timed + [i for i in items if i.get("live")]


@dataclass
class FeedState:
    """What the feeder thread has done (read by the summary)."""

    produced: int = 0
    burst_sent: int = 0
    burst_total: int = 0


class Feeder(threading.Thread):
    """Produces the feed relative to its start, with ordinary live documents alongside."""

    def __init__(self, settings: Settings, items: list[dict[str, Any]], live_rate: float) -> None:
        super().__init__(name="demo-feeder", daemon=True)
        self.settings = settings
        self.items = items
        self.live_rate = live_rate
        self.run_id = uuid.uuid4().hex[:8]
        self.state = FeedState(burst_total=sum(1 for i in items if i.get("tickers")))
        self.stop_event = threading.Event()

    def _send(self, producer: KafkaProducer, item: dict[str, Any], when: datetime) -> None:
        topics = self.settings.kafka.topics
        doc = {k: v for k, v in item.items() if k not in ("offset_s", "live")}
        doc |= {"id": f"demo-{self.run_id}-{self.state.produced}", "published_at": when.isoformat()}
        topic = topics.social if doc.get("source") == "social" else topics.news
        producer.send(topic, key=doc["id"].encode(), value=orjson.dumps(doc))
        self.state.produced += 1
        if item.get("tickers"):
            self.state.burst_sent += 1

    def schedule(self) -> Iterator[tuple[float, dict[str, Any]]]:
        """(seconds from start, item): the feed, merged with ordinary documents from the start
        at ``live_rate`` per second (so a burst lands in ordinary live traffic)."""
        ordinary = [i for i in self.items if i.get("live")]
        feed = ((i["offset_s"], n, i) for n, i in enumerate(self.items) if "offset_s" in i)
        live = ((k / self.live_rate, -1, i) for k, i in enumerate(itertools.cycle(ordinary)))
        for offset, _, item in heapq.merge(feed, live, key=lambda x: (x[0], x[1])):
            yield offset, item

    def run(self) -> None:
        """Feed until stopped: history at once (event times in the past), the rest live."""
        producer = KafkaProducer(**kafka_python_kwargs(self.settings.kafka), linger_ms=20)
        start_wall, start = datetime.now(UTC), time.monotonic()
        try:
            for offset, item in self.schedule():
                wait = start + offset - time.monotonic()
                if wait > 0 and self.stop_event.wait(wait):
                    return
                when = start_wall + timedelta(seconds=offset) if offset < 0 else datetime.now(UTC)
                self._send(producer, item, when)
        finally:
            producer.close()


class Summary:
    """Reads what the pipeline has produced so far and renders it."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.es = elasticsearch_client(settings.elasticsearch)
        self.redis = redis_client(settings.redis)
        st = settings.streaming
        self.store = RedisWindowStore(
            self.redis, st.bucket_s, st.retention_s, prefix=settings.redis.key_prefix
        )
        self.samples: list[tuple[float, int]] = []

    def close(self) -> None:
        """Close the clients."""
        self.es.close()
        self.redis.close()

    def indexed(self) -> int:
        """Documents searchable now."""
        pattern = docs_pattern(self.settings.elasticsearch.index_prefix)
        try:
            return int(self.es.count(index=pattern, allow_no_indices=True)["count"])
        except Exception:  # noqa: BLE001 (a summary must not stop the demo)
            return self.samples[-1][1] if self.samples else 0

    def rate(self) -> float:
        """Documents indexed per second over the last ten seconds."""
        now = time.monotonic()
        self.samples = [s for s in self.samples if now - s[0] <= 10] + [(now, self.indexed())]
        (t0, n0), (t1, n1) = self.samples[0], self.samples[-1]
        return (n1 - n0) / (t1 - t0) if t1 > t0 else 0.0

    def _lag(self) -> dict[str, int | None]:
        try:
            return lag(self.settings)
        except KafkaError:  # a summary must not stop the demo
            return {}

    def topics(self, now: float) -> Table:
        """Negative share per topic over the last 15 minutes and the last 2 hours."""
        table = Table(
            "topic",
            "docs 15m",
            "neg. share 15m",
            "docs 2h",
            "neg. share 2h",
            "mean score 2h",
            title="trend per topic (Redis windows)",
        )
        rows = []
        for value in self.store.scopes("topic"):
            short = self.store.window(f"topic:{value}", now, 900).stats
            long = self.store.window(f"topic:{value}", now, 7200).stats
            rows.append((short.negative_share if short.total >= 5 else 0.0, value, short, long))
        for _, value, short, long in sorted(rows, key=lambda r: (-r[0], -r[3].total))[:TOPIC_ROWS]:
            table.add_row(
                value,
                str(short.total),
                f"{short.negative_share:.0%}",
                str(long.total),
                f"{long.negative_share:.0%}",
                f"{long.mean_score:+.2f}",
            )
        return table

    def render(self, feed: FeedState, elapsed: float) -> Group:
        """The whole live display."""
        now = time.time()
        acme = self.store.window("ticker:ACME", now, 900).stats
        lags = ", ".join(
            f"{group.rsplit('-', 1)[-1]} {'?' if n is None else n}"
            for group, n in self._lag().items()
        )
        head = Text.assemble(
            ("undertow demo ", "bold"),
            f"· {elapsed:.0f} s · produced {feed.produced} · ",
            f"indexed {self.indexed()} · {self.rate():.1f} docs/s · ",
            f"lag {lags}\n",
            f"burst: {feed.burst_sent}/{feed.burst_total} negative oil documents on ACME sent; ",
            f"ticker:ACME last 15 min: {acme.total} docs, {acme.negative_share:.0%} negative\n",
            (
                f"{self._where()}Kibana: import deploy/kibana/undertow.ndjson · Ctrl-C stops the "
                "demo",
                "dim",
            ),
        )
        return Group(head, self.topics(now))

    def _where(self) -> str:
        am = self.settings.alerting.alertmanager.url
        if am is None:
            return ""
        mail = f"http://127.0.0.1:{self.settings.stack.mailpit_http_port}"
        return f"Alertmanager: {am} · e-mails of critical alerts: {mail} · "

    def in_alertmanager(self) -> list[dict[str, Any]]:
        """The demo's alerts Alertmanager holds (active, silenced or inhibited)."""
        client = alertmanager_client(self.settings)
        if client is None:
            return []
        try:
            held = client.alerts({NAMESPACE: self.settings.redis.key_prefix})
        except (AlertmanagerError, TransientHTTPStatus, httpx.HTTPError) as exc:
            log.warning("could not ask Alertmanager: %s", exc)
            return []
        return [{"alert_id": a["labels"].get("alert_id"), "scope": a["labels"].get("scope"),
                 "severity": a["labels"].get("severity"), "state": a["status"]["state"]}
                for a in held]  # fmt: skip

    def final(self, feed: FeedState) -> dict[str, Any]:
        """A JSON-ready summary at the end of the demo."""
        now = time.time()
        return {
            "produced": feed.produced,
            "indexed": self.indexed(),
            "burst_sent": feed.burst_sent,
            "all_2h": self.store.window("all", now, 7200).stats.as_dict(),
            "acme_15m": self.store.window("ticker:ACME", now, 900).stats.as_dict(),
            "alertmanager": self.in_alertmanager(),
            "alerts": [
                {
                    "id": a.id,
                    "rule": a.rule,
                    "scope": a.scope.name,
                    "state": a.state,
                    "severity": a.severity,
                    "examples": len(a.examples),
                }
                for a in RedisAlertStore(self.redis, self.settings.redis.key_prefix).recent()
            ],
        }

    def alerts(self) -> Table:
        """The alerts of this demo, newest first."""
        table = Table(
            "state",
            "severity",
            "scope",
            "negative",
            "baseline",
            "fired at",
            "most negative example",
            title="alerts (GET /api/alerts)",
        )
        for alert in RedisAlertStore(self.redis, self.settings.redis.key_prefix).recent()[:8]:
            example = alert.examples[0].text[:60] if alert.examples else ""
            fired = alert.fired_at.strftime("%H:%M:%S") if alert.fired_at else "-"
            table.add_row(
                alert.state,
                alert.severity,
                alert.scope.name,
                f"{alert.current.get('negative_share', 0):.0%}",
                f"{alert.baseline.get('negative_share', 0):.0%}",
                fired,
                example,
            )
        return table


def demo_settings(settings: Settings) -> tuple[Settings, dict[str, str], str | None]:
    """The demo's settings and its children's environment: its own Redis key prefix, and API
    keys made up for this run unless UNDERTOW_API_KEYS is set (then None is returned as key)."""
    redis_settings = settings.redis.model_copy(update={"key_prefix": DEMO_PREFIX})
    env = dict(os.environ, UNDERTOW_REDIS__KEY_PREFIX=DEMO_PREFIX)
    key = None
    if not env.get(KEYS_ENV):
        key = secrets.token_urlsafe(16)
        env[KEYS_ENV] = f"operator:{key}"
    return settings.model_copy(update={"redis": redis_settings}), env, key


def _clear(settings: Settings) -> None:
    """Forget the last demo: its Redis keys, and the silences made on its alerts."""
    delete_prefixed(settings.redis, DEMO_PREFIX)
    client = alertmanager_client(settings)
    if client is None:
        return
    try:
        for silence in client.silences({NAMESPACE: DEMO_PREFIX}):
            if silence.state != "expired":
                client.expire_silence(silence.id)
    except (AlertmanagerError, TransientHTTPStatus, httpx.HTTPError) as exc:
        log.warning("could not expire the last demo's silences: %s", exc)


def run_demo(
    settings: Settings,
    config: Path | None,
    log_level: str,
    *,
    duration: float | None,
    live_rate: float,
    keep_stack: bool,
) -> dict[str, Any]:
    """Run the demo until Ctrl-C or ``duration``; stop what it started; return a summary."""
    err = Console(stderr=True)
    stack = Stack(settings.stack, progress=lambda msg: err.print(f"[dim]stack[/] {msg}"))
    with stack.running(keep=keep_stack):
        bootstrap(settings)
        settings, env, key = demo_settings(settings)
        _clear(settings)
        logs = settings.stack.home / "logs"
        children = {**worker_args(ROLES), "alerting": ["alerting", "serve"]}
        services = Supervisor(children, config, log_level, log_dir=logs, env=env)
        services.start_all()
        web = f"http://{settings.alerting.host}:{settings.alerting.port}/"
        err.print(
            f"[dim]demo[/] workers and alerting started (logs in {logs}); web page and API: {web}"
        )
        if key:
            err.print(f"[dim]demo[/] operator key for this run (not stored anywhere): {key}")
        feeder = Feeder(settings, load_feed(), live_rate)
        feeder.start()
        summary = Summary(settings)
        began = time.monotonic()
        try:
            _show(summary, services, feeder, began, duration)
        except KeyboardInterrupt:
            err.print("[dim]demo[/] stopping")
        finally:
            feeder.stop_event.set()
            feeder.join(timeout=10)
            services.stop()
            final = summary.final(feeder.state)
            summary.close()
    return final


def _show(
    summary: Summary, services: Supervisor, feeder: Feeder, began: float, duration: float | None
) -> None:
    console = Console()
    with Live(console=console, refresh_per_second=1) as live:
        last_plain = 0.0
        while duration is None or time.monotonic() - began < duration:
            services.tend()
            view = Group(summary.render(feeder.state, time.monotonic() - began), summary.alerts())
            if console.is_terminal:
                live.update(view)
            elif time.monotonic() - last_plain >= 10:  # a log, not a screen: now and then
                console.print(view)
                last_plain = time.monotonic()
            time.sleep(1.0)
