"""The sink worker's logic: a batch of scored records → Redis windows + Elasticsearch.

Both sinks are idempotent per document (the windows' seen-set, Elasticsearch's ``_id``), so the
batch is acknowledged only after both have taken it; a sink that is down is retried with growing
back-off while the batch waits (back-pressure), and nothing is acknowledged meanwhile. A record
that is not a valid ScoredDoc, or that Elasticsearch refuses for its content, goes to the
dead-letter topic with the reason instead of blocking the partition.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import orjson
from pydantic import ValidationError

from streaming.dlq import STAGE_DECODE, STAGE_SINK, dead_letter
from streaming.exceptions import RefusedDocuments
from streaming.messages import Envelope, Outcome, OutMessage, Producer
from streaming.produce import send_all
from streaming.records import ScoredDoc
from streaming.retry import until_done
from streaming.window_store import Countable, WindowStore

log = logging.getLogger(__name__)


class SearchIndex(Protocol):
    """Where scored documents become searchable (ElasticsearchSink; a list in unit tests)."""

    def write(self, docs: Sequence[ScoredDoc]) -> None:
        """Index ``docs`` idempotently; RefusedDocuments names those refused for content."""


@dataclass
class SinkCounters:
    """What the worker has done since it started."""

    received: int = 0
    indexed: int = 0
    counted: int = 0
    dead_lettered: int = 0
    batches: int = 0


def parse_scored(env: Envelope) -> ScoredDoc:
    """A scored record's value → ScoredDoc (raises ValueError or ValidationError)."""
    if env.value is None:
        raise ValueError("the message has no value")
    return ScoredDoc.model_validate(orjson.loads(env.value))


class SinkWorker:
    """Writes batches of scored documents to the windows and the search index."""

    def __init__(
        self,
        windows: WindowStore,
        index: SearchIndex,
        producer: Producer,
        *,
        dlq_topic: str,
        max_value_bytes: int,
        max_backoff_s: float = 30.0,
        on_batch: Callable[[SinkCounters], None] | None = None,
    ) -> None:
        self.windows = windows
        self.index = index
        self.producer = producer
        self.dlq_topic = dlq_topic
        # A dead letter carries at most this much of its record (streaming.dlq).
        self.max_value_bytes = max_value_bytes
        self.max_backoff_s = max_backoff_s
        self.counters = SinkCounters()
        self.on_batch = on_batch or (lambda counters: None)

    def _dead(self, env: Envelope, reason: str, error: BaseException, stage: str) -> OutMessage:
        return dead_letter(
            env, self.dlq_topic, reason, error, stage, max_value_bytes=self.max_value_bytes
        )

    def _parse(
        self, batch: Sequence[Envelope]
    ) -> tuple[dict[str, tuple[Envelope, ScoredDoc]], list[OutMessage]]:
        docs: dict[str, tuple[Envelope, ScoredDoc]] = {}
        dead: list[OutMessage] = []
        for env in batch:
            try:
                doc = parse_scored(env)
            except (ValueError, ValidationError) as exc:
                dead.append(self._dead(env, "invalid_scored", exc, STAGE_DECODE))
                continue
            docs[doc.id] = (env, doc)  # the later record of an id wins (the newer score)
        return docs, dead

    async def _count(self, docs: list[ScoredDoc]) -> int:
        countables = [Countable.of(d) for d in docs]
        added = await until_done(
            lambda: self.windows.add(countables),
            what="Redis windows",
            max_backoff_s=self.max_backoff_s,
            first_backoff_s=0.25,
        )
        return int(added)

    async def _index(self, docs: dict[str, tuple[Envelope, ScoredDoc]]) -> dict[str, str]:
        """Index; return the documents Elasticsearch refused (id → reason)."""

        def write() -> dict[str, str]:
            try:
                self.index.write([doc for _, doc in docs.values()])
            except RefusedDocuments as exc:
                return exc.refused
            return {}

        # The sink retries transient failures itself (streaming.retry), off the event loop.
        return await asyncio.to_thread(write)

    async def handle(self, batch: list[Envelope]) -> Outcome:
        """Write one batch to both sinks, dead-letter what cannot be written, then ack."""
        docs, dead = self._parse(batch)
        refused_ids = await self._index(docs) if docs else {}
        refused = [
            self._dead(
                docs[doc_id][0],
                "refused_by_elasticsearch",
                RefusedDocuments({doc_id: reason}),
                STAGE_SINK,
            )
            for doc_id, reason in refused_ids.items()
        ]
        kept = [doc for doc_id, (_, doc) in docs.items() if doc_id not in refused_ids]
        counted = await self._count(kept) if kept else 0
        if dead or refused:
            await send_all(self.producer, dead + refused, dlq_topic=self.dlq_topic,
                           max_backoff_s=self.max_backoff_s)  # fmt: skip
        for env in batch:
            env.ack()
        c = self.counters
        c.received += len(batch)
        c.indexed += len(kept)
        c.counted += counted
        c.dead_lettered += len(dead) + len(refused)
        c.batches += 1
        self.on_batch(c)
        return Outcome(done=len(kept), dead_lettered=len(dead) + len(refused))
