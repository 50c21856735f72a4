"""The score worker's logic: a batch of input messages → dead letters + scored documents.

Per batch: decode and validate every message (bad ones become dead letters with the reason),
skip ids scored before, mark reposts and stories (near-duplicates within a horizon), link the
companies they name to tickers, score
the rest in ONE call to the models off the
event loop (a call that fails is tried again, then split until the documents that fail it are
found; those, and any scored with a non-finite figure, are dead-lettered ``scoring_failed``),
produce everything and wait for Kafka's acknowledgement (retried while Kafka is unavailable),
remember the scored ids, then acknowledge the input messages. A crash anywhere before the last
step means the batch is consumed again: scored again and produced again under the same key,
which the sinks absorb.

Batches may overlap (the next one is scored while this one waits for Kafka), but deliveries
keep batch order: Faust commits the first unbroken run of acknowledged offsets, so a later batch
must never be acknowledged before an earlier one, nor at all after an earlier one failed.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

import orjson

from models.serving.entities import Mention
from models.serving.scorer import Score
from models.serving.tickers import merge_tickers
from streaming.decode import DecodeLimits, InputSpec, bound_tickers, decode
from streaming.dedupe import Deduper
from streaming.dlq import STAGE_DECODE, STAGE_TRANSFORM, dead_letter
from streaming.exceptions import DecodeError, ScoreError
from streaming.fingerprint import fingerprint
from streaming.masking import mask_pii
from streaming.messages import Envelope, Outcome, OutMessage, Producer
from streaming.produce import send_all
from streaming.records import (
    Entity,
    ModelRef,
    RawDoc,
    ScoredDoc,
    Sentiment,
    Topic,
    scored_text,
)
from streaming.retry import until_done
from streaming.stories import StoryIndex

log = logging.getLogger(__name__)


class Linker(Protocol):
    """What the worker needs of the entity linker (models.serving.entities)."""

    def link(self, title: str | None, text: str, cashtags: Iterable[str] = ()) -> list[Mention]:
        """The instruments named in a document, most relevant first."""


@dataclass(frozen=True)
class Linking:
    """The entity linker and the relevance at which a company becomes a ticker."""

    linker: Linker
    min_relevance: float = 0.6


class BatchScorer(Protocol):
    """What the worker needs of the models: one call per batch."""

    def score(self, texts: Sequence[str]) -> list[Score]:
        """One Score per text, in order."""


def _finite(score: Score) -> bool:
    figures = [score.sentiment_score, score.topic_confidence, *score.sentiment_probs.values()]
    return all(math.isfinite(f) for f in figures)


def text_to_score(doc: RawDoc) -> str:
    """The title first (it carries the story's tone), then the body."""
    return scored_text(doc.title, doc.text)


def scored_doc(
    doc: RawDoc,
    score: Score,
    duplicate_of: str | None,
    received_s: float,
    max_tickers: int = DecodeLimits.max_tickers,
    *,
    linking: Linking | None = None,
    story_id: str | None = None,
) -> ScoredDoc:
    """The ScoredDoc of ``doc``, stamped with the model and the time spent in the worker; its
    tickers are the feed's, then the text's cashtags, then the companies it names (relevant
    enough), the first ``max_tickers`` of them."""
    now = time.time()
    text = text_to_score(doc)
    given = merge_tickers(doc.tickers, text)
    mentions = linking.linker.link(doc.title, doc.text, given) if linking else []
    linked = [m.instrument.ticker for m in mentions if m.relevance >= linking.min_relevance
              ] if linking else []  # fmt: skip
    tickers, cut = bound_tickers(list(dict.fromkeys([*given, *linked])), max_tickers)
    return ScoredDoc(
        **doc.model_dump(exclude={"tickers", "tickers_dropped"}),
        tickers=tickers,
        tickers_dropped=doc.tickers_dropped + cut,
        entities=[Entity.model_validate(m.as_dict()) for m in mentions[:max_tickers]],
        sentiment=Sentiment(
            label=score.sentiment,
            score=max(-1.0, min(1.0, score.sentiment_score)),
            probs=score.sentiment_probs,
        ),
        topic=Topic(label=score.topic, confidence=score.topic_confidence),
        fingerprint=fingerprint(text),
        # A later document of a story (near or exact) names its first one.
        duplicate_of=story_id if story_id not in (None, doc.id) else duplicate_of,
        story_id=story_id,
        model=ModelRef(name=score.model_name, version=score.model_version),
        scored_at=datetime.fromtimestamp(now, UTC),
        latency_ms=round(max(0.0, (now - received_s) * 1000), 3),
    )


def masked(doc: RawDoc) -> RawDoc:
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
        linking: Linking | None = None,
        stories: StoryIndex | None = None,
        on_scored: Callable[[Sequence[tuple[RawDoc, Score]]], None] | None = None,
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
        # Company names → tickers (None: cashtags and the feed's tickers only).
        self.linking = linking
        # Near-duplicates → one story_id (None: no stories).
        self.stories = stories
        # Sees every scored document with its Score (drift metrics); its failure is logged only.
        self.on_scored = on_scored
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
                good.append((env, masked(raw) if self.mask else raw))
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

    async def _infer(self, texts: list[str], attempts: int) -> list[Score | str]:
        """Scores for ``texts``, or for a text that cannot be scored, why.

        A call that fails as a whole is tried ``attempts`` times, then split in halves, down to
        the single texts that make it fail; a Score with a non-finite figure fails its text.
        """
        loop = asyncio.get_running_loop()
        for attempt in range(attempts):
            try:
                scores = await loop.run_in_executor(self.executor, self.scorer.score, texts)
                if len(scores) != len(texts):
                    raise ScoreError(f"{len(scores)} scores for {len(texts)} texts")
                return [s if _finite(s) else "the model returned a non-finite figure"
                        for s in scores]  # fmt: skip
            except Exception as exc:  # noqa: BLE001 - any failure of the models fails texts only
                failure = f"{type(exc).__name__}: {exc}"
                log.warning("scoring %d text(s) failed (try %d of %d): %s",
                            len(texts), attempt + 1, attempts, failure)  # fmt: skip
        if len(texts) == 1:
            return [failure]
        half = len(texts) // 2
        return await self._infer(texts[:half], 1) + await self._infer(texts[half:], 1)

    async def _score(
        self, fresh: list[tuple[Envelope, RawDoc]]
    ) -> tuple[list[ScoredDoc], list[OutMessage]]:
        """Score the fresh documents; a document that cannot be scored is dead-lettered."""
        if not fresh:
            return [], []
        texts = [text_to_score(doc) for _, doc in fresh]
        prints = {doc.id: fingerprint(text) for (_, doc), text in zip(fresh, texts, strict=True)}
        first = await self._redis("fingerprint lookup", lambda: self.deduper.first_of(prints))
        assert isinstance(first, dict)
        stories: dict[str, str] = {}
        if self.stories is not None:
            index = self.stories
            by_id = {doc.id: text for (_, doc), text in zip(fresh, texts, strict=True)}
            found = await self._redis("story lookup", lambda: index.stories(by_id))
            assert isinstance(found, dict)
            stories = found
        scored: list[ScoredDoc] = []
        dead: list[OutMessage] = []
        seen: list[tuple[RawDoc, Score]] = []
        for (env, doc), score in zip(fresh, await self._infer(texts, 2), strict=True):
            if isinstance(score, str):
                dead.append(self._dead(env, "scoring_failed", score, STAGE_TRANSFORM))
                continue
            seen.append((doc, score))
            origin = first[doc.id]
            scored.append(
                scored_doc(
                    doc,
                    score,
                    None if origin == doc.id else origin,
                    env.received_s,
                    self.limits.max_tickers,
                    linking=self.linking,
                    story_id=stories.get(doc.id),
                )
            )
        if self.on_scored is not None and seen:
            try:
                self.on_scored(seen)
            except Exception:  # figures must never stop the worker
                log.exception("could not record the batch's drift figures")
        return scored, dead

    def _records(
        self, scored: list[ScoredDoc], envelopes: dict[str, Envelope]
    ) -> tuple[list[ScoredDoc], list[OutMessage], list[OutMessage]]:
        """The scored records to produce; one too large for the scored topic is dead-lettered
        (its text and fields were each within limits, but not all of them together)."""
        kept: list[ScoredDoc] = []
        records: list[OutMessage] = []
        dead: list[OutMessage] = []
        for doc in scored:
            value = orjson.dumps(doc.model_dump(mode="json"))
            if len(value) > self.limits.max_bytes:
                why = f"the scored record has {len(value)} bytes, limit {self.limits.max_bytes}"
                dead.append(self._dead(envelopes[doc.id], "oversized_scored", why, STAGE_TRANSFORM))
                continue
            kept.append(doc)
            records.append(OutMessage(self.scored_topic, doc.id.encode("utf-8"), value))
        return kept, records, dead

    async def handle(self, batch: list[Envelope]) -> Outcome:
        """Process one batch; returns after everything is produced and the inputs are acked."""
        # Taken before the first await, so the order of the calls is the order of delivery.
        previous = self._delivered
        mine = self._delivered = asyncio.get_running_loop().create_future()
        delivered = False
        try:
            good, dead = self._decode(batch)
            fresh = await self._fresh(good)
            scored, failed = await self._score(fresh)
            scored, records, oversized = self._records(scored, {d.id: e for e, d in fresh})
            out = dead + failed + oversized + records
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
            await send_all(self.producer, out, dlq_topic=self.dlq_topic,
                           max_backoff_s=self.max_backoff_s)  # fmt: skip
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
