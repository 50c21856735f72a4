"""Alert history in Elasticsearch: the document each alert is indexed as, and the searches of
the alerts index (filters, free text, pages without a cap).

The ``ElasticsearchNotifier`` writes every alert event (the lifecycle's and the analysts')
through the outbox, so the index holds every alert that fired with its acknowledgements and
notes. Pages go by ``offset`` for the first ten thousand alerts and by an opaque ``cursor``
(Elasticsearch's ``search_after``) as far back as the index goes.
"""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Any, Literal

import orjson
from elasticsearch import Elasticsearch, NotFoundError
from pydantic import BaseModel, ConfigDict, Field

from alerting.exceptions import AlertingError
from alerting.records import Alert, ScopeKind
from alerting.rules.base import Severity

# Elasticsearch's index.max_result_window: offsets end there, cursors go on.
MAX_OFFSET = 10_000
_SORT = [{"started_at": "desc"}, {"id": "desc"}]


class HistoryError(AlertingError):
    """A search of the alert history that cannot be run as asked (a bad cursor)."""


def alert_document(alert: Alert) -> dict[str, Any]:
    """The alert as the alerts index holds it: the record, and its examples' text for search."""
    document = alert.model_dump(mode="json")
    document["evidence"] = "\n".join(
        " ".join(x for x in (ex.title, ex.text) if x) for ex in alert.examples
    )
    return document


class AlertQuery(BaseModel):
    """What to list: filters (all optional, combined with AND) and the page."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    state: Literal["pending", "firing", "resolved"] | None = None
    severity: Severity | None = None
    rule: str | None = Field(default=None, max_length=64)
    scope_kind: ScopeKind | None = None
    scope: str | None = Field(default=None, max_length=300)
    incident: str | None = Field(default=None, max_length=64)
    acknowledged: bool | None = None
    # An analyst's verdict: "useful", "noise", or "none" (not judged yet).
    feedback: Literal["useful", "noise", "none"] | None = None
    # Free text over the scope, the reason, the evidence and the notes (Elasticsearch's
    # simple query string syntax: words, "phrases", -not, a|b).
    text: str | None = Field(default=None, max_length=500)
    since: datetime | None = None
    until: datetime | None = None
    limit: int = Field(default=50, ge=1, le=500)
    offset: int = Field(default=0, ge=0, le=MAX_OFFSET)
    cursor: str | None = Field(default=None, max_length=500)


class HistoryPage(BaseModel):
    """A page of alerts, newest first; ``total``: how many match; ``next``: the cursor of the
    page after this one (None on the last)."""

    items: list[Alert]
    total: int
    limit: int
    offset: int
    next: str | None = None


def _filters(q: AlertQuery) -> list[dict[str, Any]]:
    terms = {
        "state": q.state,
        "severity": q.severity,
        "rule": q.rule,
        "scope.kind": q.scope_kind,
        "incident": q.incident,
    }
    out: list[dict[str, Any]] = [{"term": {k: v}} for k, v in terms.items() if v is not None]
    if q.scope is not None:
        kind, _, value = q.scope.partition(":")
        out.append({"term": {"scope.kind": kind}})
        out.append({"term": {"scope.value": value}} if value else
                   {"bool": {"must_not": {"exists": {"field": "scope.value"}}}})  # fmt: skip
    if q.acknowledged is not None:
        held = {"exists": {"field": "acked_by"}}
        out.append(held if q.acknowledged else {"bool": {"must_not": held}})
    if q.feedback is not None:
        judged = {"exists": {"field": "feedback.verdict"}}
        out.append({"bool": {"must_not": judged}} if q.feedback == "none" else
                   {"term": {"feedback.verdict": q.feedback}})  # fmt: skip
    if q.since is not None or q.until is not None:
        span = {"gte": q.since.isoformat() if q.since else None,
                "lte": q.until.isoformat() if q.until else None}  # fmt: skip
        out.append({"range": {"started_at": {k: v for k, v in span.items() if v}}})
    return out


def es_query(q: AlertQuery) -> dict[str, Any]:
    """The Elasticsearch query of ``q`` (filters and free text)."""
    body: dict[str, Any] = {"filter": _filters(q)}
    if q.text:
        body["must"] = [{
            "simple_query_string": {
                "query": q.text,
                "fields": ["scope.value^3", "rule", "verdict.reason", "evidence", "activity.text",
                           "incident", "id"],
                "default_operator": "and",
                "lenient": True,
            }
        }]  # fmt: skip
    return {"bool": body}


def encode_cursor(sort: list[Any]) -> str:
    """The opaque cursor of a hit's sort values."""
    return base64.urlsafe_b64encode(orjson.dumps(sort)).decode().rstrip("=")


def decode_cursor(cursor: str) -> list[Any]:
    """The sort values a cursor carries; HistoryError if it is not one of ours."""
    try:
        values = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError) as exc:
        raise HistoryError("cursor: not a cursor this service gave") from exc
    if not isinstance(values, list) or len(values) != len(_SORT):
        raise HistoryError("cursor: not a cursor this service gave")
    return values


def search(es: Elasticsearch, index: str, q: AlertQuery) -> HistoryPage:
    """One page of the alerts matching ``q``, newest first."""
    if q.cursor is None and q.offset + q.limit > MAX_OFFSET:
        raise HistoryError(f"offset: pages beyond {MAX_OFFSET} alerts go by cursor")
    extra: dict[str, Any] = {"from_": q.offset} if q.cursor is None else {
        "search_after": decode_cursor(q.cursor)}  # fmt: skip
    try:
        resp = es.search(
            index=index, query=es_query(q), sort=_SORT, size=q.limit, track_total_hits=True,
            **extra,
        )  # fmt: skip
    except NotFoundError:  # no alert has been indexed yet
        return HistoryPage(items=[], total=0, limit=q.limit, offset=q.offset)
    hits = resp["hits"]["hits"]
    items = [Alert.model_validate(_record(h["_source"])) for h in hits]
    total = int(resp["hits"]["total"]["value"])
    last = len(hits) == q.limit and hits and hits[-1].get("sort")
    return HistoryPage(items=items, total=total, limit=q.limit, offset=q.offset,
                       next=encode_cursor(last) if last else None)  # fmt: skip


def _record(source: dict[str, Any]) -> dict[str, Any]:
    """The alert record of an indexed document (without what only the index adds)."""
    return {k: v for k, v in source.items() if k != "evidence"}


def get(es: Elasticsearch, index: str, alert_id: str) -> Alert | None:
    """One alert from the index, or None."""
    try:
        found = es.get(index=index, id=alert_id)
    except NotFoundError:
        return None
    return Alert.model_validate(_record(found["_source"]))
