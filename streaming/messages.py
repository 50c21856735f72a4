"""Kafka messages as the workers see them, apart from the client library that carries them.

The workers' logic takes ``Envelope`` objects and hands ``OutMessage`` objects to a ``Producer``;
the Faust glue (``streaming.faust_app``) adapts Faust's events and producer to these, and the unit
tests use in-memory ones.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol


@dataclass
class Envelope:
    """One consumed message, with where it came from and how to acknowledge it."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    timestamp_ms: int | None
    received_s: float
    ack: Callable[[], object] = field(default=lambda: None, repr=False)
    headers: tuple[tuple[str, bytes], ...] = ()


@dataclass(frozen=True)
class OutMessage:
    """One message to produce."""

    topic: str
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...] = ()


@dataclass(frozen=True)
class Outcome:
    """What a worker did with one batch: documents done (scored or indexed), dead-lettered."""

    done: int
    dead_lettered: int


class Producer(Protocol):
    """Sends messages; returns only when the broker has acknowledged every one of them."""

    async def send_many(self, messages: Sequence[OutMessage]) -> None:
        """Produce ``messages`` and wait for all their acknowledgements."""


class MemoryProducer:
    """Collects what would be produced (the fake used by unit tests and dry runs)."""

    def __init__(self) -> None:
        self.sent: list[OutMessage] = []

    async def send_many(self, messages: Sequence[OutMessage]) -> None:
        """Remember ``messages``."""
        self.sent.extend(messages)

    def on(self, topic: str) -> list[OutMessage]:
        """What was sent to ``topic``."""
        return [m for m in self.sent if m.topic == topic]
