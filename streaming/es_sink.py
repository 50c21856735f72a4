"""Bulk-index scored documents into Elasticsearch with ``_id`` = document id (idempotent).

Transient failures (``streaming.retry``: the cluster unreachable, overload, 5xx, credentials
refused) are retried with back-off until they succeed, so a sink that is down holds the batch
(back-pressure) instead of losing it. A document Elasticsearch refuses for its content is named
in RefusedDocuments while the rest of its batch is indexed; a whole bulk request refused (400,
413) is split in halves until the documents that cause it are found.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from elasticsearch import ApiError, Elasticsearch

from streaming.exceptions import RefusedDocuments
from streaming.indices import PREFIX, docs_index
from streaming.records import ScoredDoc
from streaming.retry import RetryLater, is_transient, retryable_status, retrying

log = logging.getLogger(__name__)


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

        def attempt() -> None:
            nonlocal pending
            pending = self._attempt(pending, refused)
            if pending:
                raise RetryLater(f"{len(pending)} document(s) to send again")

        retrier = retrying(
            "Elasticsearch bulk index", sleep=self.sleep, max_backoff_s=self.max_backoff_s,
            on_retry=self.on_retry,
        )  # fmt: skip
        retrier(attempt)
        if refused:
            raise RefusedDocuments(refused)

    def _attempt(self, docs: list[ScoredDoc], refused: dict[str, str]) -> list[ScoredDoc]:
        """One bulk call; note refused documents; return the documents to try again.

        A request refused as a whole for its content is split in halves, down to the single
        documents that cause it; transient failures of the request are raised (retried).
        """
        try:
            resp = self.client.bulk(
                operations=_operations(docs, self.index_prefix),
                filter_path="errors,items.*.status,items.*.error",
            )
        except ApiError as exc:
            if is_transient(exc):
                raise
            if len(docs) == 1:
                refused[docs[0].id] = f"bulk request refused ({exc.meta.status}): {exc.message}"
                return []
            half = len(docs) // 2
            return self._attempt(docs[:half], refused) + self._attempt(docs[half:], refused)
        if not resp.get("errors"):
            return []
        retry: list[ScoredDoc] = []
        for doc, item in zip(docs, resp["items"], strict=True):
            result = next(iter(item.values()))
            status = int(result.get("status", 200))
            if status >= 300 and retryable_status(status):
                retry.append(doc)
            elif status >= 300:
                refused[doc.id] = str(result.get("error", {}).get("reason", status))
        return retry
