"""Bulk-index scored documents into Elasticsearch with ``_id`` = document id (idempotent).

Transport failures and overload (429, 5xx) are retried with back-off until they succeed, so a
sink that is down holds the batch (back-pressure) instead of losing it; a document Elasticsearch
rejects for its content is a SinkError that names it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

from elasticsearch import ApiError, Elasticsearch, TransportError

from streaming.exceptions import RefusedDocuments, SinkError
from streaming.indices import docs_index
from streaming.records import ScoredDoc

log = logging.getLogger(__name__)
RETRYABLE_STATUS = {429, 502, 503, 504}


def _operations(docs: Sequence[ScoredDoc]) -> list[dict[str, Any]]:
    ops: list[dict[str, Any]] = []
    for doc in docs:
        ops.append({"index": {"_index": docs_index(doc.published_at), "_id": doc.id}})
        ops.append(doc.model_dump(mode="json"))
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
    ) -> None:
        self.client = client
        self.max_backoff_s = max_backoff_s
        self.sleep = sleep
        self.on_retry = on_retry or (lambda reason: None)

    def write(self, docs: Sequence[ScoredDoc]) -> None:
        """Index ``docs``; retry what failed for transient reasons; raise on permanent ones."""
        pending = list(docs)
        backoff = 0.5
        while pending:
            try:
                pending = self._attempt(pending)
            except (TransportError, ApiError) as exc:
                if isinstance(exc, ApiError) and exc.meta.status not in RETRYABLE_STATUS:
                    raise SinkError(f"Elasticsearch refused the bulk request: {exc}") from exc
                log.warning("Elasticsearch unavailable (%s); retrying in %.1f s", exc, backoff)
                self.on_retry(type(exc).__name__)
            if pending:
                self.sleep(backoff)
                backoff = min(backoff * 2, self.max_backoff_s)

    def _attempt(self, docs: list[ScoredDoc]) -> list[ScoredDoc]:
        """One bulk call; return the documents to try again."""
        resp = self.client.bulk(
            operations=_operations(docs), filter_path="errors,items.*.status,items.*.error"
        )
        if not resp.get("errors"):
            return []
        retry: list[ScoredDoc] = []
        refused: dict[str, str] = {}
        for doc, item in zip(docs, resp["items"], strict=True):
            result = next(iter(item.values()))
            status = int(result.get("status", 200))
            if status in RETRYABLE_STATUS:
                retry.append(doc)
            elif status >= 300:
                refused[doc.id] = str(result.get("error", {}).get("reason", status))
        if refused:
            raise RefusedDocuments(refused)
        if retry:
            self.on_retry("bulk item overload")
        return retry
