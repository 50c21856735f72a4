"""Analysts' corrections of the model's answers, kept as training data.

One record per document in the corrections index (``_id`` = the document's id), holding the
text as the model read it, what the model said, the analyst's labels, note, who and when, and
the earlier corrections of that document. The index keeps a correction when the document is
indexed again (a replay) or ages out of its daily index; the document itself gets a
``correction`` field too, so Kibana shows it beside the model's answer.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from elasticsearch import ApiError, Elasticsearch, NotFoundError, TransportError
from elasticsearch.helpers import scan
from pydantic import BaseModel, ConfigDict, Field, model_validator

from models.serving.labels import SENTIMENT_LABELS, TOPIC_LABELS
from streaming.records import scored_text

log = logging.getLogger(__name__)
MAX_NOTE_CHARS = 2000
TASKS = ("sentiment", "topic")


class CorrectionError(Exception):
    """A correction that cannot be made: unknown document, or a label the models do not know."""


class Label(BaseModel):
    """What an analyst says the right answer is (one task or both), and why."""

    model_config = ConfigDict(extra="forbid")

    sentiment: str | None = Field(default=None, description=f"one of {list(SENTIMENT_LABELS)}")
    topic: str | None = Field(default=None, description="one of the 20 topic labels")
    note: str | None = Field(default=None, max_length=MAX_NOTE_CHARS)

    @model_validator(mode="after")
    def _known(self) -> Label:
        if self.sentiment is None and self.topic is None:
            raise ValueError("give sentiment, topic or both")
        if self.sentiment is not None and self.sentiment not in SENTIMENT_LABELS:
            raise ValueError(f"sentiment must be one of {list(SENTIMENT_LABELS)}")
        if self.topic is not None and self.topic not in TOPIC_LABELS:
            raise ValueError(f"topic {self.topic!r} is not one of the 20 topics")
        return self


class Correction(BaseModel):
    """A document's correction as stored (the latest; ``history`` has the earlier ones)."""

    id: str
    text: str
    title: str | None = None
    source: str | None = None
    published_at: str | None = None
    tickers: list[str] = []
    index: str | None = None
    model: dict[str, str] = {}
    predicted: dict[str, str | None] = {}
    sentiment: str | None = None
    topic: str | None = None
    note: str | None = None
    by: str
    at: datetime
    history: list[dict[str, Any]] = []


class CorrectionStore:
    """Corrections in Elasticsearch: ``docs_pattern`` holds the documents, ``index`` them."""

    def __init__(self, es: Elasticsearch, docs_pattern: str, index: str) -> None:
        self.es = es
        self.docs_pattern = docs_pattern
        self.index = index

    def document(self, doc_id: str) -> tuple[str, dict[str, Any]]:
        """The indexed document ``doc_id``: its index and source (CorrectionError if none)."""
        found = self.es.search(index=self.docs_pattern, query={"ids": {"values": [doc_id]}},
                               size=1, allow_no_indices=True)  # fmt: skip
        hits = found["hits"]["hits"]
        if not hits:
            raise CorrectionError(f"no indexed document has id {doc_id!r}")
        return hits[0]["_index"], hits[0]["_source"]

    def get(self, doc_id: str) -> Correction | None:
        """The correction of ``doc_id``, or None."""
        try:
            found = self.es.get(index=self.index, id=doc_id)
        except NotFoundError:
            return None
        return Correction.model_validate(found["_source"])

    def correct(self, doc_id: str, label: Label, by: str) -> Correction:
        """Record ``label`` for ``doc_id`` (the earlier correction goes to its history)."""
        index, doc = self.document(doc_id)
        earlier = self.get(doc_id)
        history = []
        if earlier is not None:
            history = [*earlier.history, earlier.model_dump(mode="json", exclude={"history",
                       "text", "title", "source", "published_at", "tickers", "index"})]  # fmt: skip
        # A task the analyst leaves out keeps its earlier correction.
        sentiment = label.sentiment or (earlier.sentiment if earlier else None)
        topic = label.topic or (earlier.topic if earlier else None)
        correction = Correction(
            id=doc_id,
            text=scored_text(doc.get("title"), doc.get("text", "")),
            title=doc.get("title"),
            source=doc.get("source"),
            published_at=doc.get("published_at"),
            tickers=doc.get("tickers") or [],
            index=index,
            model={k: str(v) for k, v in (doc.get("model") or {}).items()},
            predicted={
                "sentiment": (doc.get("sentiment") or {}).get("label"),
                "topic": (doc.get("topic") or {}).get("label"),
            },
            sentiment=sentiment,
            topic=topic,
            note=label.note,
            by=by,
            at=datetime.now(UTC),
            history=history[-20:],
        )
        body = correction.model_dump(mode="json")
        self.es.index(index=self.index, id=doc_id, document=body, refresh="wait_for")
        mirror = {k: body[k] for k in ("sentiment", "topic", "note", "by", "at")}
        try:  # the corrections index is the record; the document's copy is for Kibana
            self.es.update(index=index, id=doc_id, doc={"correction": mirror})
        except (ApiError, TransportError) as exc:
            log.warning("correction of %s kept, but not shown on the document: %s", doc_id, exc)
        return correction

    def all(self, since: datetime | None = None) -> Iterator[Correction]:
        """Every correction (made at or after ``since``), oldest first."""
        query: dict[str, Any] = (
            {"range": {"at": {"gte": since.isoformat()}}} if since else {"match_all": {}}
        )
        if not self.es.indices.exists(index=self.index):
            return
        hits = scan(self.es, index=self.index, query={"query": query, "sort": ["at"]},
                    preserve_order=True)  # fmt: skip
        for hit in hits:
            yield Correction.model_validate(hit["_source"])
