"""Shadow scoring: a candidate model scores the live input beside the current one, touching
nothing the pipeline writes.

The shadow worker consumes the input topics in a consumer group of its own (one per
candidate), keeps a stable sample of the documents (by a hash of the id, so a restart or a
second shadow worker samples the same ones), scores them with the candidate, and indexes its
answers into the shadow index (``<prefix>-shadow``, ``_id`` = candidate + document id). It
produces nothing to Kafka and writes neither Redis nor the documents' index: the live pipeline's
output does not change. ``undertow models compare`` joins these answers with the live ones.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

from elasticsearch import Elasticsearch, helpers

from models.serving.scorer import Score
from streaming.decode import DecodeLimits, InputSpec, decode
from streaming.exceptions import DecodeError
from streaming.messages import Envelope, Outcome
from streaming.records import RawDoc, scored_text
from streaming.retry import until_done
from streaming.score_worker import BatchScorer

log = logging.getLogger(__name__)


def sampled(doc_id: str, rate: float) -> bool:
    """Whether ``doc_id`` is in a sample of ``rate`` (stable across processes and restarts)."""
    if rate >= 1.0:
        return True
    digest = hashlib.blake2b(doc_id.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64 < rate


def shadow_id(candidate: str, doc_id: str) -> str:
    """The shadow index's ``_id`` of a candidate's answer for a document."""
    return f"{candidate}:{doc_id}"


class ShadowWorker:
    """Scores a sample of the input with a candidate and indexes its answers."""

    def __init__(
        self,
        scorer: BatchScorer,
        es: Elasticsearch,
        *,
        candidate: str,
        index: str,
        specs: dict[str, InputSpec],
        limits: DecodeLimits | None = None,
        sample: float = 1.0,
        max_backoff_s: float = 30.0,
    ) -> None:
        self.scorer = scorer
        self.es = es
        self.candidate = candidate
        self.index = index
        self.specs = specs
        self.limits = limits or DecodeLimits()
        self.sample = sample
        self.max_backoff_s = max_backoff_s
        self.executor = ThreadPoolExecutor(1, thread_name_prefix="shadow")

    def _docs(self, batch: Sequence[Envelope]) -> list[RawDoc]:
        docs: dict[str, RawDoc] = {}
        for env in batch:
            spec = self.specs.get(env.topic) or InputSpec(source=env.topic)
            try:
                doc = decode(env.value, spec, timestamp_ms=env.timestamp_ms, limits=self.limits)
            except DecodeError:
                continue  # the live worker dead-letters it; the shadow has nothing to say
            if sampled(doc.id, self.sample):
                docs[doc.id] = doc
        return list(docs.values())

    def score(self, texts: list[str]) -> list[Score | None]:
        """The candidate's answers, None for a text it fails on: a batch that fails is scored
        text by text, so one poisoned document costs its own answer only, never the worker."""
        try:
            return list(self.scorer.score(texts))
        except Exception as exc:  # noqa: BLE001 - a shadow never stops consuming
            log.warning("the candidate failed a batch of %d (%s); scoring them one by one",
                        len(texts), exc)  # fmt: skip
        out: list[Score | None] = []
        for text in texts:
            try:
                out.append(self.scorer.score([text])[0])
            except Exception:  # noqa: BLE001
                out.append(None)
        return out

    def _index(self, actions: list[dict[str, Any]]) -> None:
        # Connection trouble raises (and is retried); an answer Elasticsearch refuses is logged:
        # a shadow must never stop on one document.
        _, errors = helpers.bulk(self.es, actions, raise_on_error=False, refresh=False)
        if isinstance(errors, list) and errors:
            log.warning("%d shadow answers not indexed, e.g. %s", len(errors), errors[0])

    async def handle(self, batch: list[Envelope]) -> Outcome:
        """Score the batch's sampled documents, index the answers, acknowledge the batch."""
        docs = self._docs(batch)
        done = 0
        if docs:
            loop = asyncio.get_running_loop()
            texts = [scored_text(d.title, d.text) for d in docs]
            answers = await loop.run_in_executor(self.executor, self.score, texts)
            scored = [(d, a) for d, a in zip(docs, answers, strict=True) if a is not None]
            now = datetime.fromtimestamp(time.time(), UTC).isoformat()
            actions = [
                {
                    "_index": self.index,
                    "_id": shadow_id(self.candidate, d.id),
                    "_source": {
                        "id": d.id,
                        "candidate": self.candidate,
                        "source": d.source,
                        "published_at": d.published_at.isoformat(),
                        "scored_at": now,
                        "sentiment": {
                            "label": s.sentiment,
                            "score": s.sentiment_score,
                            "probs": s.sentiment_probs,
                        },
                        "topic": {"label": s.topic, "confidence": s.topic_confidence},
                    },
                }
                for d, s in scored
            ]
            await until_done(lambda: self._index(actions), what="shadow index",
                             max_backoff_s=self.max_backoff_s)  # fmt: skip
            done = len(scored)
        for env in batch:
            env.ack()
        return Outcome(done=done, dead_lettered=0)
