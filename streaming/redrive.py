"""Dead letters read back: list them by reason, and send chosen ones back to the input topic
they came from (``undertow dlq list | redrive``).

A letter goes back with its key, its original bytes (optionally without some fields, e.g. an
unreadable ``published_at``, so the record's own time is used) and its original Kafka timestamp,
with a ``redriven_from`` header naming the letter. A letter whose value was cut or dropped, or
that came from a topic that is not an input, is not sent. Redriving the same letter twice is
harmless: a document is scored, indexed and counted once by its id.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from streaming import dlq
from streaming.exceptions import StreamingError

CONNECT = "__connect.errors."


@dataclass(frozen=True)
class DeadLetter:
    """One message of the dead-letter topic."""

    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: dict[str, str]
    timestamp_ms: int | None

    @property
    def reason(self) -> str:
        """Why it was dead-lettered."""
        return self.headers.get(dlq.REASON, "unknown")

    @property
    def origin(self) -> str | None:
        """The topic the original message was consumed from."""
        return self.headers.get(f"{CONNECT}topic")

    @property
    def position(self) -> str:
        """``partition:offset`` in the dead-letter topic."""
        return f"{self.partition}:{self.offset}"

    @property
    def whole(self) -> bool:
        """Whether it carries the original bytes entire (not cut, not dropped)."""
        cut = {dlq.TRUNCATED, dlq.VALUE_DROPPED} & {k for k, v in self.headers.items()
                                                    if v == "true"}  # fmt: skip
        return not cut and self.value is not None

    def summary(self) -> dict[str, Any]:
        """What ``dlq list`` shows of it."""
        return {
            "position": self.position,
            "reason": self.reason,
            "origin": f"{self.origin}/{self.headers.get(CONNECT + 'partition')}/"
            f"{self.headers.get(CONNECT + 'offset')}",
            "error": self.headers.get(f"{CONNECT}exception.message", ""),
            "bytes": len(self.value or b""),
            "preview": (self.value or b"")[:160].decode("utf-8", "replace"),
            "redriven_from": self.headers.get(dlq.REDRIVEN_FROM),
        }


def read(kafka_kwargs: dict[str, Any], topic: str) -> Iterator[DeadLetter]:
    """Every letter the topic holds now (up to the end offsets when called), oldest first
    within each partition."""
    consumer = KafkaConsumer(**kafka_kwargs, enable_auto_commit=False, group_id=None)
    try:
        partitions = consumer.partitions_for_topic(topic)
        if partitions is None:
            raise StreamingError(f"no topic {topic}")
        assigned = [TopicPartition(topic, p) for p in sorted(partitions)]
        consumer.assign(assigned)
        consumer.seek_to_beginning(*assigned)
        ends = consumer.end_offsets(assigned)
        while any(consumer.position(tp) < ends[tp] for tp in assigned):
            for tp, records in consumer.poll(timeout_ms=2000).items():
                for record in records:
                    if record.offset < ends[tp]:
                        yield DeadLetter(
                            record.partition, record.offset, record.key, record.value,
                            {k: v.decode("utf-8", "replace") for k, v in record.headers},
                            record.timestamp,
                        )  # fmt: skip
    finally:
        consumer.close()


def without(value: bytes, paths: Sequence[str]) -> bytes:
    """The JSON object ``value`` without the fields at ``paths`` (dotted); StreamingError if it
    is not a JSON object."""
    try:
        data = orjson.loads(value)
    except orjson.JSONDecodeError as exc:
        raise StreamingError("not JSON: fields cannot be dropped") from exc
    if not isinstance(data, dict):
        raise StreamingError("not a JSON object: fields cannot be dropped")
    for path in paths:
        *parents, last = path.split(".")
        node: Any = data
        for part in parents:
            node = node.get(part) if isinstance(node, dict) else None
        if isinstance(node, dict):
            node.pop(last, None)
    return orjson.dumps(data)


@dataclass
class RedriveReport:
    """What a redrive did: letters sent back (by reason), and letters it could not send."""

    sent: dict[str, int] = field(default_factory=dict)
    skipped: list[dict[str, str]] = field(default_factory=list)


def redrive(
    letters: Sequence[DeadLetter],
    producer: KafkaProducer,
    *,
    dlq_topic: str,
    inputs: set[str],
    drop_fields: Sequence[str] = (),
    progress: Callable[[int], None] = lambda done: None,
) -> RedriveReport:
    """Send each letter back to its input topic and wait for every acknowledgement."""
    report = RedriveReport()
    futures = []
    for done, letter in enumerate(letters, 1):
        problem = _problem(letter, inputs)
        value = letter.value or b""
        if problem is None and drop_fields:
            try:
                value = without(value, drop_fields)
            except StreamingError as exc:
                problem = str(exc)
        if problem is not None:
            report.skipped.append({"position": letter.position, "why": problem})
            continue
        assert letter.origin is not None
        headers = [(dlq.REDRIVEN_FROM, f"{dlq_topic}/{letter.position}".encode())]
        stamp = letter.headers.get(dlq.ORIGINAL_TIMESTAMP)
        futures.append(producer.send(letter.origin, key=letter.key, value=value, headers=headers,
                                     timestamp_ms=int(stamp) if stamp else None))  # fmt: skip
        report.sent[letter.reason] = report.sent.get(letter.reason, 0) + 1
        progress(done)
    for future in futures:
        future.get(timeout=60)
    return report


def _problem(letter: DeadLetter, inputs: set[str]) -> str | None:
    if not letter.whole:
        return "its value was cut or dropped: the original is not here to send"
    if letter.origin not in inputs:
        return f"it came from {letter.origin}, which is neither an input nor the scored topic"
    return None
