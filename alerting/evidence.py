"""The evidence of an alert: its most negative documents (one per story) from Elasticsearch, and
a Kibana Discover link to the window."""

from __future__ import annotations

import logging
from collections import Counter
from datetime import datetime
from typing import Any, Protocol
from urllib.parse import quote

from elasticsearch import ApiError, Elasticsearch, TransportError

from alerting.records import Example, Scope

log = logging.getLogger(__name__)
DATA_VIEW_ID = "undertow-docs"  # the id of the data view in deploy/kibana/undertow.ndjson
SCOPE_FIELDS = {"topic": "topic.label", "ticker": "tickers", "source": "source"}


def scope_filter(scope: Scope) -> list[dict[str, Any]]:
    """Elasticsearch filter clauses selecting a scope's documents."""
    if scope.kind == "all" or scope.value is None:
        return []
    return [{"term": {SCOPE_FIELDS[scope.kind]: scope.value}}]


def kql(scope: Scope) -> str:
    """The Kibana query for a scope's negative documents."""
    query = 'sentiment.label : "negative"'
    if scope.kind != "all" and scope.value is not None:
        value = scope.value.replace("\\", "\\\\").replace('"', '\\"')
        query += f' and {SCOPE_FIELDS[scope.kind]} : "{value}"'
    return query


def _rison_string(text: str) -> str:
    return "'" + text.replace("!", "!!").replace("'", "!'") + "'"


def discover_url(base: str, scope: Scope, start: datetime, end: datetime) -> str:
    """A Discover link: the scope's negative documents in the window, most negative first."""
    g = f"(time:(from:{_rison_string(start.isoformat())},to:{_rison_string(end.isoformat())}))"
    a = (
        f"(dataSource:(dataViewId:{_rison_string(DATA_VIEW_ID)},type:dataView),"
        f"query:(language:kuery,query:{_rison_string(kql(scope))}),"
        "sort:!(!(sentiment.score,asc)))"
    )
    safe = "():,!'*"
    return f"{base.rstrip('/')}/app/discover#/?_g={quote(g, safe=safe)}&_a={quote(a, safe=safe)}"


def _example(source: dict[str, Any], reposts: int) -> Example:
    """An example from a scored document as indexed: its sentiment and topic by label."""
    sentiment = source.get("sentiment") or {}
    topic = source.get("topic") or {}
    fields = {k: v for k, v in source.items() if k not in ("sentiment", "topic")}
    return Example(**fields, score=sentiment["score"], sentiment=sentiment.get("label"),
                   topic=topic.get("label"), reposts=reposts)  # fmt: skip


class Evidence(Protocol):
    """Where the evaluator finds an alert's example documents."""

    def examples(
        self, scope: Scope, start: datetime, end: datetime, size: int
    ) -> tuple[list[Example], str | None]:
        """Up to ``size`` documents of ``scope`` in the window, and their model version."""

    def overlap(self, one: Scope, other: Scope, start: datetime, end: datetime
                ) -> tuple[int, int, int]:  # fmt: skip
        """How many documents of the window are in ``one``, in ``other``, and in both."""


class EvidenceFinder:
    """Finds the documents that drove an alert (in Elasticsearch)."""

    def __init__(self, client: Elasticsearch, index_pattern: str) -> None:
        self.client = client
        self.pattern = index_pattern

    def examples(
        self, scope: Scope, start: datetime, end: datetime, size: int
    ) -> tuple[list[Example], str | None]:
        """The ``size`` most negative documents in the window, one per story with the count of
        its reposts there, and the model version that scored most of them (empty and None if
        Elasticsearch cannot answer now)."""
        if size == 0:
            return [], None
        query = {
            "bool": {
                "filter": [
                    *scope_filter(scope),
                    {"term": {"sentiment.label": "negative"}},
                    {"range": {"published_at": {"gte": start.isoformat(), "lte": end.isoformat()}}},
                ],
            }
        }
        try:
            resp = self.client.search(
                index=self.pattern,
                query=query,
                size=size * 10,  # enough for ``size`` stories however often each was reposted
                sort=[{"sentiment.score": "asc"}],
                aggs={"stories": {"terms": {"field": "story_id", "size": 1000}}},
                allow_no_indices=True,
                ignore_unavailable=True,
            )
        except (ApiError, TransportError) as exc:
            log.warning("could not fetch alert examples: %s", exc)
            return [], None
        counts = {b["key"]: b["doc_count"] for b in resp["aggregations"]["stories"]["buckets"]}
        sources: list[dict[str, Any]] = []
        stories: set[str] = set()
        for hit in resp["hits"]["hits"]:
            source = hit["_source"]
            story = source.get("story_id") or source.get("duplicate_of") or source["fingerprint"]
            if story not in stories and len(sources) < size:
                stories.add(story)
                sources.append(source)
        versions = Counter(s.get("model", {}).get("version") for s in sources)
        examples = [_example(s, max(0, counts.get(s.get("story_id"), 1) - 1)) for s in sources]
        version = versions.most_common(1)[0][0] if versions else None
        return examples, version

    def overlap(self, one: Scope, other: Scope, start: datetime, end: datetime
                ) -> tuple[int, int, int]:  # fmt: skip
        """Documents of the window in ``one``, in ``other`` and in both, in one search (none
        if Elasticsearch cannot answer now)."""
        when = {"range": {"published_at": {"gte": start.isoformat(), "lte": end.isoformat()}}}

        def only(*filters: dict[str, Any]) -> dict[str, Any]:
            return {"filter": {"bool": {"filter": list(filters) or [{"match_all": {}}]}}}

        try:
            resp = self.client.search(
                index=self.pattern,
                size=0,
                query={"bool": {"filter": [when]}},
                aggs={
                    "one": only(*scope_filter(one)),
                    "other": only(*scope_filter(other)),
                    "both": only(*scope_filter(one), *scope_filter(other)),
                },
                allow_no_indices=True,
                ignore_unavailable=True,
            )
        except (ApiError, TransportError) as exc:
            log.warning("could not compare the documents of two alerts: %s", exc)
            return 0, 0, 0
        aggs = resp.get("aggregations") or {}

        def count(name: str) -> int:
            return int((aggs.get(name) or {}).get("doc_count", 0))

        return count("one"), count("other"), count("both")
