"""``undertow demo``: the stack, the workers, the bundled sample feed and a live summary.

The feed (deploy/demo/feed.jsonl, MIT-licensed tweets) holds two hours of history, replayed at
once with event times in the past, and a burst of clearly negative oil news on the ticker ACME
that arrives while the demo runs; after it, ordinary documents keep trickling in. Every run
gives the documents fresh ids, so a second demo is scored and counted like the first.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
from kafka import KafkaProducer
from rich.console import Group
from rich.table import Table
from rich.text import Text

from streaming.clients import elasticsearch_client, kafka_python_kwargs, redis_client
from streaming.indices import docs_pattern
from streaming.lag import lag
from streaming.settings import Settings
from streaming.window_store import RedisWindowStore

log = logging.getLogger(__name__)
FEED = Path(__file__).resolve().parents[1] / "deploy" / "demo" / "feed.jsonl"
TOPIC_ROWS = 12


def load_feed(path: Path = FEED) -> list[dict[str, Any]]:
    """The feed's items, in time order."""
    items = [orjson.loads(line) for line in path.read_bytes().splitlines() if line.strip()]
    return sorted(items, key=lambda d: d["offset_s"])


@dataclass
class FeedState:
    """What the feeder thread has done (read by the summary)."""

    produced: int = 0
    burst_sent: int = 0
    burst_total: int = 0
    done: threading.Event = field(default_factory=threading.Event)


class Feeder(threading.Thread):
    """Produces the feed relative to its start, then a trickle of ordinary documents."""

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
        doc = {k: v for k, v in item.items() if k != "offset_s"}
        doc |= {"id": f"demo-{self.run_id}-{self.state.produced}", "published_at": when.isoformat()}
        topic = topics.social if doc.get("source") == "social" else topics.news
        producer.send(topic, key=doc["id"].encode(), value=orjson.dumps(doc))
        self.state.produced += 1
        if item.get("tickers"):
            self.state.burst_sent += 1

    def run(self) -> None:
        """Feed until stopped."""
        producer = KafkaProducer(**kafka_python_kwargs(self.settings.kafka), linger_ms=20)
        start_wall, start = datetime.now(UTC), time.monotonic()
        try:
            for item in self.items:
                wait = start + item["offset_s"] - time.monotonic()
                if wait > 0 and self.stop_event.wait(wait):
                    return
                self._send(producer, item, start_wall + timedelta(seconds=item["offset_s"]))
            producer.flush()
            ordinary = [i for i in self.items if not i.get("tickers")]
            for item in itertools.cycle(ordinary):
                if self.stop_event.wait(1 / self.live_rate):
                    return
                self._send(producer, item, datetime.now(UTC))
        finally:
            self.state.done.set()
            producer.close()


class Summary:
    """Reads what the pipeline has produced so far and renders it."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.es = elasticsearch_client(settings.elasticsearch)
        self.redis = redis_client(settings.redis)
        st = settings.streaming
        self.store = RedisWindowStore(
            self.redis, st.bucket_s, st.retention_s, settings.redis.key_prefix
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
            f"{group.rsplit('-', 1)[-1]} {n}" for group, n in lag(self.settings).items()
        )
        head = Text.assemble(
            ("undertow demo ", "bold"),
            f"· {elapsed:.0f} s · produced {feed.produced} · ",
            f"indexed {self.indexed()} · {self.rate():.1f} docs/s · ",
            f"lag {lags}\n",
            f"burst: {feed.burst_sent}/{feed.burst_total} negative oil documents on ACME sent; ",
            f"ticker:ACME last 15 min: {acme.total} docs, {acme.negative_share:.0%} negative\n",
            ("Kibana: import deploy/kibana/undertow.ndjson · Ctrl-C stops the demo", "dim"),
        )
        return Group(head, self.topics(now))

    def final(self, feed: FeedState) -> dict[str, Any]:
        """A JSON-ready summary at the end of the demo."""
        now = time.time()
        return {
            "produced": feed.produced,
            "indexed": self.indexed(),
            "burst_sent": feed.burst_sent,
            "all_2h": self.store.window("all", now, 7200).stats.as_dict(),
            "acme_15m": self.store.window("ticker:ACME", now, 900).stats.as_dict(),
        }
