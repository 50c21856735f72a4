"""Scoring on request: documents in, what the pipeline says of them out (``POST /api/score``).

The score worker's own steps, without Kafka: every document is decoded and validated with the
worker's limits (a bad one is named, none is scored), masked when the worker masks, scored by
the live Scorer in one call (its length-sorted batches, one inference thread, the version the
registry makes current) and enriched by the worker's ``scored_doc``: tickers from the feed,
cashtags and linked company names, entities. Repost and story marks are left out: they depend on
what came before on the stream.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import orjson

from streaming.decode import DecodeLimits, InputSpec, decode
from streaming.exceptions import DecodeError
from streaming.records import RawDoc, ScoredDoc
from streaming.score_worker import BatchScorer, Linking, masked, scored_doc, text_to_score


@dataclass(frozen=True)
class Refused:
    """A request's document that cannot be scored: its position and why."""

    index: int
    reason: str
    detail: str


class RefusedDocuments(ValueError):
    """Documents of one request that cannot be scored (each named by position)."""

    def __init__(self, refused: list[Refused]) -> None:
        super().__init__("; ".join(f"{r.index}: {r.reason}: {r.detail}" for r in refused))
        self.refused = refused


class Scoring:
    """Scores documents as the score worker would, one request at a time on its own thread."""

    def __init__(
        self,
        scorer: BatchScorer,
        *,
        limits: DecodeLimits | None = None,
        linking: Linking | None = None,
        mask: bool = False,
        source: str = "api",
        sources: frozenset[str] = frozenset(),
    ) -> None:
        self.scorer = scorer
        self.limits = limits or DecodeLimits()
        self.linking = linking
        self.mask = mask
        # A document may name one of the pipeline's sources; without one it is ``source``'s.
        self.spec = InputSpec(source=source, sources=sources | {source})
        # One inference thread, as in the worker: ONNX Runtime uses every core for one batch.
        self.executor = ThreadPoolExecutor(1, thread_name_prefix="score-api")

    def documents(self, items: Sequence[dict[str, Any]]) -> list[RawDoc]:
        """Each item as the pipeline reads it (RawDoc fields), or RefusedDocuments naming every
        one that the worker would dead-letter."""
        now_ms = int(time.time() * 1000)
        docs: list[RawDoc] = []
        refused: list[Refused] = []
        for index, item in enumerate(items):
            try:
                doc = decode(orjson.dumps(item), self.spec, timestamp_ms=now_ms, limits=self.limits)
            except DecodeError as exc:
                refused.append(Refused(index, exc.reason, exc.detail))
                continue
            docs.append(masked(doc) if self.mask else doc)
        if refused:
            raise RefusedDocuments(refused)
        return docs

    def score(self, docs: Sequence[RawDoc]) -> list[ScoredDoc]:
        """The ScoredDoc of every document, in order (blocking: one Scorer call)."""
        if not docs:
            return []
        received = time.time()
        scores = self.scorer.score([text_to_score(d) for d in docs])
        return [
            scored_doc(d, s, None, received, self.limits.max_tickers, linking=self.linking)
            for d, s in zip(docs, scores, strict=True)
        ]

    async def score_async(self, items: Sequence[dict[str, Any]]) -> list[ScoredDoc]:
        """Validate, then score on the inference thread without blocking the event loop."""
        docs = self.documents(items)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.executor, self.score, docs)

    def close(self) -> None:
        """Let the inference thread go (and a hot-swapping scorer's registry poll)."""
        self.executor.shutdown(wait=False)
        stop = getattr(self.scorer, "stop", None)
        if callable(stop):
            stop()
