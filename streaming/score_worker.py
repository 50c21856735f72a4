"""The score worker's logic: a batch of input messages → dead letters + scored documents.

Per batch: decode and validate every message (bad ones become dead letters with the reason),
skip ids scored before, mark near-duplicates, score the rest in ONE call to the models off the
event loop, produce everything and wait for Kafka's acknowledgement (retried while Kafka is
unavailable), remember the scored ids, then acknowledge the input messages. A crash anywhere
before the last step means the batch is consumed again: scored again and produced again under
the same key, which the sinks absorb.

Batches may overlap (the next one is scored while this one waits for Kafka), but deliveries
keep batch order: Faust commits the first unbroken run of acknowledged offsets, so a later batch
must never be acknowledged before an earlier one, nor at all after an earlier one failed.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

import orjson

from models.serving.scorer import Score
from models.serving.tickers import merge_tickers
from streaming.decode import DecodeLimits, InputSpec, decode
from streaming.dedupe import Deduper
from streaming.dlq import STAGE_DECODE, dead_letter
from streaming.exceptions import DecodeError, ScoreError
from streaming.fingerprint import fingerprint
from streaming.masking import mask_pii
from streaming.messages import Envelope, Outcome, OutMessage, Producer
from streaming.records import ModelRef, RawDoc, ScoredDoc, Sentiment, Topic
from streaming.retry import until_done, until_sent

log = logging.getLogger(__name__)


class BatchScorer(Protocol):
    """What the worker needs of the models: one call per batch."""

    def score(self, texts: Sequence[str]) -> list[Score]:
        """One Score per text, in order."""


def text_to_score(doc: RawDoc) -> str:
    """The title first (it carries the story's tone), then the body."""
    if doc.title and doc.title not in doc.text:
        return f"{doc.title}\n{doc.text}"
    return doc.text


def scored_doc(doc: RawDoc, score: Score, duplicate_of: str | None, received_s: float) -> ScoredDoc:
    """The ScoredDoc of ``doc``, stamped with the model and the time spent in the worker."""
    now = time.time()
    text = text_to_score(doc)
    return ScoredDoc(
        **doc.model_dump(exclude={"tickers"}),
        tickers=merge_tickers(doc.tickers, text),
        sentiment=Sentiment(
            label=score.sentiment,
            score=max(-1.0, min(1.0, score.sentiment_score)),
            probs=score.sentiment_probs,
        ),
        topic=Topic(label=score.topic, confidence=score.topic_confidence),
        fingerprint=fingerprint(text),
        duplicate_of=duplicate_of,
        model=ModelRef(name=score.model_name, version=score.model_version),
        scored_at=datetime.fromtimestamp(now, UTC),
        latency_ms=round(max(0.0, (now - received_s) * 1000), 3),
    )


def _masked(doc: RawDoc) -> RawDoc:
    """``doc`` with e-mail addresses and phone numbers masked in its text and title."""
    title = mask_pii(doc.title) if doc.title else doc.title
    return doc.model_copy(update={"text": mask_pii(doc.text), "title": title})


@dataclass
class ScoreCounters:
    """What the worker has done since it started."""

    received: int = 0
    scored: int = 0
    dead_lettered: int = 0
    skipped_seen: int = 0
    batches: int = 0
    by_reason: dict[str, int] = field(default_factory=dict)


class ScoreWorker:
    """Turns batches of input envelopes into produced scored documents and dead letters."""

    def __init__(
        self,
        scorer: BatchScorer,
        deduper: Deduper,
        producer: Producer,
        *,
        specs: dict[str, InputSpec],
        scored_topic: str,
        dlq_topic: str,
        limits: DecodeLimits | None = None,
        max_backoff_s: float = 30.0,
        executor: ThreadPoolExecutor | None = None,
        on_batch: Callable[[ScoreCounters], None] | None = None,
        mask: bool = False,
    ) -> None:
        self.scorer = scorer
        self.deduper = deduper
        self.producer = producer
        self.specs = specs
        self.scored_topic = scored_topic
        self.dlq_topic = dlq_topic
        self.limits = limits or DecodeLimits()
        self.max_backoff_s = max_backoff_s
        # One inference thread: ONNX Runtime already uses every core for one batch.
        self.executor = executor or ThreadPoolExecutor(1, thread_name_prefix="scorer")
        self.counters = ScoreCounters()
        self.on_batch = on_batch or (lambda counters: None)
        # Mask e-mail addresses and phone numbers before scoring and indexing.
        self.mask = mask
        # Resolves to whether the latest batch handed to ``handle`` was delivered.
        self._delivered: asyncio.Future[bool] | None = None

    def _decode(
        self, batch: Sequence[Envelope]
    ) -> tuple[list[tuple[Envelope, RawDoc]], list[OutMessage]]:
        good: list[tuple[Envelope, RawDoc]] = []
        dead: list[OutMessage] = []
        for env in batch:
            spec = self.specs.get(env.topic) or InputSpec(source=env.topic)
            try:
                raw = decode(env.value, spec, timestamp_ms=env.timestamp_ms, limits=self.limits)
                good.append((env, _masked(raw) if self.mask else raw))
            except DecodeError as exc:
                dead.append(self._dead(env, exc.reason, exc, STAGE_DECODE))
        return good, dead

    def _dead(
        self, env: Envelope, reason: str, error: BaseException | str, stage: str
    ) -> OutMessage:
        self.counters.by_reason[reason] = self.counters.by_reason.get(reason, 0) + 1
        return dead_letter(
            env, self.dlq_topic, reason, error, stage, max_value_bytes=self.limits.max_bytes
        )

    async def _redis(self, what: str, call: Callable[[], object]) -> object:
        return await until_done(
            call, what=what, max_backoff_s=self.max_backoff_s, first_backoff_s=0.25
        )

    async def _fresh(self, good: list[tuple[Envelope, RawDoc]]) -> list[tuple[Envelope, RawDoc]]:
        """Drop ids scored before and repeats of an id within the batch."""
        unique: dict[str, tuple[Envelope, RawDoc]] = {}
        for env, doc in good:
            unique.setdefault(doc.id, (env, doc))
        seen = await self._redis("dedupe lookup", lambda: self.deduper.seen(list(unique)))
        assert isinstance(seen, set)
        self.counters.skipped_seen += len(good) - len(unique) + len(seen)
        return [pair for doc_id, pair in unique.items() if doc_id not in seen]

    async def _score(self, fresh: list[tuple[Envelope, RawDoc]]) -> list[ScoredDoc]:
        if not fresh:
            return []
        texts = [text_to_score(doc) for _, doc in fresh]
        prints = {doc.id: fingerprint(text) for (_, doc), text in zip(fresh, texts, strict=True)}
        first = await self._redis("fingerprint lookup", lambda: self.deduper.first_of(prints))
        assert isinstance(first, dict)
        loop = asyncio.get_running_loop()
        scores = await loop.run_in_executor(self.executor, self.scorer.score, texts)
        return [
            scored_doc(
                doc, score, None if first[doc.id] == doc.id else first[doc.id], env.received_s
            )
            for (env, doc), score in zip(fresh, scores, strict=True)
        ]

    async def handle(self, batch: list[Envelope]) -> Outcome:
        """Process one batch; returns after everything is produced and the inputs are acked."""
        # Taken before the first await, so the order of the calls is the order of delivery.
        previous = self._delivered
        mine = self._delivered = asyncio.get_running_loop().create_future()
        delivered = False
        try:
            good, dead = self._decode(batch)
            scored = await self._score(await self._fresh(good))
            out = dead + [
                OutMessage(
                    self.scored_topic, d.id.encode("utf-8"), orjson.dumps(d.model_dump(mode="json"))
                )
                for d in scored
            ]
            if previous is not None and not await previous:
                raise ScoreError("an earlier batch failed; this one is not acknowledged either")
            outcome = await self._deliver(batch, out, scored)
            delivered = True
        finally:
            mine.set_result(delivered)
        return outcome

    async def _deliver(
        self, batch: list[Envelope], out: list[OutMessage], scored: list[ScoredDoc]
    ) -> Outcome:
        """Produce, remember the scored ids, acknowledge the inputs."""
        if out:
            # Retried, not raised: a crash would consume the batch again and fail again.
            await until_sent(lambda: self.producer.send_many(out), what="Kafka produce",
                             max_backoff_s=self.max_backoff_s, first_backoff_s=0.25)  # fmt: skip
        if scored:
            ids = [d.id for d in scored]
            await self._redis("dedupe mark", lambda: self.deduper.mark(ids))
        for env in batch:
            env.ack()
        outcome = Outcome(done=len(scored), dead_lettered=len(out) - len(scored))
        c = self.counters
        c.received += len(batch)
        c.scored += outcome.done
        c.dead_lettered += outcome.dead_lettered
        c.batches += 1
        self.on_batch(c)
        return outcome
