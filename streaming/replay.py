"""``undertow replay``: documents from a JSONL or CSV file → an input topic, at a chosen rate,
optionally with event times spread evenly over a past interval."""

from __future__ import annotations

import csv
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
from kafka import KafkaProducer
from kafka.errors import KafkaError

from streaming.clients import kafka_python_kwargs
from streaming.exceptions import StreamingError
from streaming.settings import RAW_FIELDS, KafkaSettings

# CSV columns that mean something to undertow; the rest (e.g. a dataset's label) are left out.
_KEEP = set(RAW_FIELDS)


class ReplayError(StreamingError):
    """The file cannot be replayed (unreadable, not JSONL/CSV, no text column)."""


def _jsonl(path: Path) -> Iterator[dict[str, Any]]:
    with path.open("rb") as fh:
        for number, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                row = orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                raise ReplayError(f"{path}:{number}: not JSON ({exc})") from exc
            if not isinstance(row, dict):
                raise ReplayError(f"{path}:{number}: a line must hold a JSON object")
            yield row


def _csv(path: Path) -> Iterator[dict[str, Any]]:
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        if reader.fieldnames is None or "text" not in reader.fieldnames:
            raise ReplayError(f"{path}: a CSV needs a header with a 'text' column")
        for row in reader:
            yield {k: v for k, v in row.items() if k in _KEEP and v not in (None, "")}


def read_documents(path: Path, limit: int | None = None) -> list[dict[str, Any]]:
    """The documents of a .jsonl/.ndjson/.json-lines or .csv file, at most ``limit``."""
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson"):
        rows = _jsonl(path)
    elif suffix == ".csv":
        rows = _csv(path)
    else:
        raise ReplayError(f"{path}: expected a .jsonl, .ndjson or .csv file")
    try:
        out: list[dict[str, Any]] = []
        for row in rows:
            if limit is not None and len(out) >= limit:
                break
            out.append(row)
        return out
    except (OSError, UnicodeDecodeError) as exc:
        raise ReplayError(f"cannot read {path}: {exc}") from exc


def spread_times(count: int, spread: timedelta, now: datetime) -> list[datetime]:
    """``count`` event times evenly over (now - spread, now], oldest first."""
    if count == 0:
        return []
    step = spread / count
    return [now - spread + step * (i + 1) for i in range(count)]


def replay(
    docs: list[dict[str, Any]],
    kafka: KafkaSettings,
    topic: str,
    *,
    rate: float | None = None,
    spread: timedelta | None = None,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Produce ``docs`` to ``topic`` (keyed by id when present); return how many were acked."""
    if spread is not None:
        for doc, when in zip(docs, spread_times(len(docs), spread, datetime.now(UTC)), strict=True):
            doc["published_at"] = when.isoformat()
    try:
        producer = KafkaProducer(**kafka_python_kwargs(kafka), acks="all", linger_ms=5)
    except KafkaError as exc:
        raise ReplayError(f"cannot reach Kafka at {kafka.bootstrap_servers}: {exc}") from exc
    began = time.monotonic()
    try:
        for i, doc in enumerate(docs):
            if rate:
                delay = began + i / rate - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            key = str(doc["id"]).encode() if doc.get("id") is not None else None
            producer.send(topic, key=key, value=orjson.dumps(doc))
            if progress is not None:
                progress(i + 1)
        producer.flush()
    except KafkaError as exc:
        raise ReplayError(f"producing to {topic} failed: {exc}") from exc
    finally:
        producer.close()
    return len(docs)
