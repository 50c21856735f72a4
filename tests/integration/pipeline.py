"""An isolated pipeline on the real stack: its own topics, consumer groups, Redis key prefix and
Elasticsearch indices, with worker processes started through `undertow worker`."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import orjson
import yaml
from elasticsearch import ApiError, Elasticsearch
from kafka import KafkaConsumer, KafkaProducer

from streaming.bootstrap import bootstrap
from streaming.clients import elasticsearch_client, kafka_python_kwargs
from streaming.indices import docs_pattern
from streaming.lag import lag
from tests.integration.conftest import ROOT, undertow
from undertow.settings import Settings, load_settings

FIXTURES = ROOT / "tests" / "fixtures"


def fixture_texts() -> list[str]:
    """Tweets from the MIT-licensed Twitter sets bundled as fixtures."""
    texts: list[str] = []
    for path in sorted(FIXTURES.glob("twitter_*/*.csv")):
        with path.open(newline="", encoding="utf-8") as fh:
            texts += [row["text"] for row in csv.DictReader(fh)]
    return list(dict.fromkeys(texts))


def wait_for(what: str, check: Callable[[], bool], timeout: float = 90.0) -> None:
    """Poll ``check`` until it holds; fail naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.25)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


class Pipeline:
    """Configuration, worker processes and read-back helpers for one isolated pipeline."""

    def __init__(self, home: Path, extra: dict[str, Any] | None = None) -> None:
        run = f"t{uuid.uuid4().hex[:10]}"
        self.run = run
        self.home = home
        topics = {n: f"{run}.{n}" for n in ("news", "social", "scored", "alerts", "dlq")}
        config: dict[str, dict[str, Any]] = {
            "kafka": {"topics": topics},
            "redis": {"key_prefix": run},
            "elasticsearch": {"index_prefix": run},
            "streaming": {
                "group_prefix": run,
                "data_dir": str(home / "faust"),
                "session_timeout_s": 6,
                "max_message_bytes": 100_000,
                "commit_interval_s": 0.5,
            },
        }
        for section, values in (extra or {}).items():
            config.setdefault(section, {}).update(values)
        self.config = home / "undertow.yaml"
        self.config.write_text(yaml.safe_dump(config))
        self.settings: Settings = load_settings(self.config)
        bootstrap(self.settings)
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.es: Elasticsearch = elasticsearch_client(self.settings.elasticsearch)
        self.producer = KafkaProducer(**kafka_python_kwargs(self.settings.kafka), acks="all")

    def start(self, role: str, name: str | None = None) -> None:
        """Start one worker process of ``role``, known as ``name`` (default: the role); its
        output goes to ``<name>.log``."""
        name = name or role
        log = (self.home / f"{name}.log").open("ab")
        cmd = [
            sys.executable,
            "-m",
            "undertow.cli",
            "--config",
            str(self.config),
            "--log-level",
            "INFO",
            "worker",
            "--role",
            role,
        ]
        self.procs[name] = subprocess.Popen(
            cmd, cwd=ROOT, stdout=log, stderr=log, env=dict(os.environ)
        )

    def kill(self, name: str, signum: int = signal.SIGKILL) -> None:
        """Send ``signum`` to the named worker process and wait for it to end."""
        proc = self.procs.pop(name)
        proc.send_signal(signum)
        proc.wait(timeout=60)

    def stop(self) -> None:
        """Stop every worker (SIGTERM) and close the clients."""
        for name in list(self.procs):
            self.kill(name, signal.SIGTERM)
        self.producer.close()
        self.es.close()

    def produce(
        self, values: Sequence[tuple[bytes | None, bytes | None]], topic: str | None = None
    ) -> None:
        """Produce (key, value) pairs to the news topic (or ``topic``), waiting for the acks."""
        for key, value in values:
            self.producer.send(topic or self.settings.kafka.topics.news, key=key, value=value)
        self.producer.flush()

    def es_count(self, query: dict[str, Any] | None = None) -> int:
        """Documents in this pipeline's indices (after a refresh); -1 while a new index's shard
        is still starting."""
        pattern = docs_pattern(self.settings.elasticsearch.index_prefix)
        try:
            self.es.indices.refresh(index=pattern, allow_no_indices=True)
            found = self.es.count(
                index=pattern, query=query or {"match_all": {}}, allow_no_indices=True
            )
        except ApiError as exc:
            if exc.meta.status == 503:
                return -1
            raise
        return int(found["count"])

    def es_docs(self, size: int = 1000, ids: list[str] | None = None) -> list[dict[str, Any]]:
        """The indexed documents' sources (all, or those with ``ids``)."""
        pattern = docs_pattern(self.settings.elasticsearch.index_prefix)
        self.es.indices.refresh(index=pattern, allow_no_indices=True)
        query = {"ids": {"values": ids}} if ids else {"match_all": {}}
        hits = self.es.search(index=pattern, size=size, query=query)["hits"]["hits"]
        return [h["_source"] for h in hits]

    def dead_letters(self) -> list[tuple[bytes | None, dict[str, str]]]:
        """Every message in this pipeline's DLQ: (value, headers)."""
        return self.messages(self.settings.kafka.topics.dlq)

    def messages(self, topic: str) -> list[tuple[bytes | None, dict[str, str]]]:
        """Every message in ``topic`` so far: (value, headers)."""
        consumer = KafkaConsumer(
            topic,
            **kafka_python_kwargs(self.settings.kafka),
            auto_offset_reset="earliest",
            enable_auto_commit=False,
            consumer_timeout_ms=3000,
        )
        try:
            return [(m.value, {k: v.decode() for k, v in m.headers}) for m in consumer]
        finally:
            consumer.close()

    def trends(self, scope: str, window: str = "3h") -> dict[str, Any]:
        """`undertow trends --json` for this pipeline."""
        done = undertow(
            "--config", str(self.config), "trends", "--scope", scope, "--window", window, "--json"
        )
        assert done.returncode == 0, done.stderr
        result: dict[str, Any] = orjson.loads(done.stdout.strip().splitlines()[-1])
        return result

    def settled(self) -> bool:
        """Both consumer groups have committed everything produced."""
        return all(v == 0 for v in lag(self.settings).values())  # None (unknown) is not 0

    def log(self, name: str, tail: int | None = None) -> str:
        """A worker's log so far (the last ``tail`` characters if given)."""
        path = self.home / f"{name}.log"
        text = path.read_text(errors="replace") if path.exists() else ""
        return text[-tail:] if tail else text
