"""Bulk-index scored documents into Elasticsearch with ``_id`` = document id (idempotent).

Transport failures and overload (429, 5xx) are retried with back-off until they succeed, so a
sink that is down holds the batch (back-pressure) instead of losing it; a document Elasticsearch
rejects for its content is a SinkError that names it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from elasticsearch import ApiError, Elasticsearch, TransportError

from streaming.exceptions import RefusedDocuments, SinkError
from streaming.indices import PREFIX, docs_index
from streaming.records import ScoredDoc

log = logging.getLogger(__name__)
RETRYABLE_STATUS = {429, 502, 503, 504}


def _operations(docs: Sequence[ScoredDoc], prefix: str) -> list[dict[str, Any]]:
    """Bulk operations, each document stamped with ``indexed_at`` (now)."""
    now = datetime.now(UTC).isoformat(timespec="milliseconds")
    ops: list[dict[str, Any]] = []
    for doc in docs:
        ops.append({"index": {"_index": docs_index(doc.published_at, prefix), "_id": doc.id}})
        ops.append({**doc.model_dump(mode="json"), "indexed_at": now})
    return ops


class ElasticsearchSink:
    """Writes batches; ``write`` returns only when every document is indexed."""

    def __init__(
        self,
        client: Elasticsearch,
        *,
        max_backoff_s: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
        on_retry: Callable[[str], None] | None = None,
        index_prefix: str = PREFIX,
    ) -> None:
        self.client = client
        self.index_prefix = index_prefix
        self.max_backoff_s = max_backoff_s
        self.sleep = sleep
        self.on_retry = on_retry or (lambda reason: None)

    def write(self, docs: Sequence[ScoredDoc]) -> None:
        """Index ``docs``; retry what failed for transient reasons; raise on permanent ones.

        Documents Elasticsearch refuses for their content are raised together as
        RefusedDocuments, after every other document of the batch is indexed.
        """
        pending = list(docs)
        refused: dict[str, str] = {}
        backoff = 0.5
        while pending:
            try:
                pending = self._attempt(pending, refused)
            except (TransportError, ApiError) as exc:
                if isinstance(exc, ApiError) and exc.meta.status not in RETRYABLE_STATUS:
                    raise SinkError(f"Elasticsearch refused the bulk request: {exc}") from exc
                log.warning("Elasticsearch unavailable (%s); retrying in %.1f s", exc, backoff)
                self.on_retry(type(exc).__name__)
            if pending:
                self.sleep(backoff)
                backoff = min(backoff * 2, self.max_backoff_s)
        if refused:
            raise RefusedDocuments(refused)

    def _attempt(self, docs: list[ScoredDoc], refused: dict[str, str]) -> list[ScoredDoc]:
        """One bulk call; note refused documents; return the documents to try again."""
        resp = self.client.bulk(
            operations=_operations(docs, self.index_prefix),
            filter_path="errors,items.*.status,items.*.error",
        )
        if not resp.get("errors"):
            return []
        retry: list[ScoredDoc] = []
        for doc, item in zip(docs, resp["items"], strict=True):
            result = next(iter(item.values()))
            status = int(result.get("status", 200))
            if status in RETRYABLE_STATUS:
                retry.append(doc)
            elif status >= 300:
                refused[doc.id] = str(result.get("error", {}).get("reason", status))
        if retry:
            self.on_retry("bulk item overload")
        return retry
