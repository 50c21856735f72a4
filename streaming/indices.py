"""Elasticsearch index names and index templates: the one module that spells them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

PREFIX = "undertow"
DOCS_INDEX = f"{PREFIX}-docs"
ALERTS_INDEX = f"{PREFIX}-alerts"
CORRECTIONS_INDEX = f"{PREFIX}-corrections"

_KEYWORD = {"type": "keyword"}
_FLOAT = {"type": "float"}
_DATE = {"type": "date"}

_PROBS = {"properties": {"negative": _FLOAT, "neutral": _FLOAT, "positive": _FLOAT}}

DOCS_MAPPINGS: dict[str, Any] = {
    # Unknown fields stay in _source but are not indexed: a feed cannot blow up the mapping.
    "dynamic": False,
    "properties": {
        "id": _KEYWORD,
        "text": {"type": "text"},
        "title": {"type": "text", "fields": {"keyword": {"type": "keyword", "ignore_above": 512}}},
        "source": _KEYWORD,
        "source_name": _KEYWORD,
        "published_at": _DATE,
        "url": _KEYWORD,
        "author": _KEYWORD,
        "lang": _KEYWORD,
        "tickers": _KEYWORD,
        "tickers_dropped": {"type": "integer"},
        "sentiment": {
            "properties": {"label": _KEYWORD, "score": _FLOAT, "probs": _PROBS},
        },
        "topic": {"properties": {"label": _KEYWORD, "confidence": _FLOAT}},
        "fingerprint": _KEYWORD,
        "duplicate_of": _KEYWORD,
        "story_id": _KEYWORD,
        "entities": {
            "properties": {
                "ticker": _KEYWORD,
                "name": _KEYWORD,
                "exchange": _KEYWORD,
                "isin": _KEYWORD,
                "matched": _KEYWORD,
                "where": _KEYWORD,
                "count": {"type": "integer"},
                "relevance": _FLOAT,
            },
        },
        "model": {"properties": {"name": _KEYWORD, "version": _KEYWORD}},
        "scored_at": _DATE,
        "latency_ms": _FLOAT,
        # Set by the sink: when it sent the bulk request that indexed the document (the last
        # attempt, if Elasticsearch had to be retried).
        "indexed_at": _DATE,
        # An analyst's correction, mirrored from the corrections index (which keeps it, even
        # when the document is indexed again or ages out).
        "correction": {
            "properties": {
                "sentiment": _KEYWORD,
                "topic": _KEYWORD,
                "note": {"type": "text"},
                "by": _KEYWORD,
                "at": _DATE,
            },
        },
    },
}

CORRECTIONS_MAPPINGS: dict[str, Any] = {
    "dynamic": False,
    "properties": {
        "id": _KEYWORD,
        # The text as the model read it (title, then body), kept for training.
        "text": {"type": "text"},
        "title": {"type": "text"},
        "source": _KEYWORD,
        "published_at": _DATE,
        "tickers": _KEYWORD,
        "index": _KEYWORD,
        "model": {"properties": {"name": _KEYWORD, "version": _KEYWORD}},
        "predicted": {"properties": {"sentiment": _KEYWORD, "topic": _KEYWORD}},
        "sentiment": _KEYWORD,
        "topic": _KEYWORD,
        "note": {"type": "text"},
        "by": _KEYWORD,
        "at": _DATE,
        "history": {"type": "object", "enabled": False},
    },
}

SHADOW_MAPPINGS: dict[str, Any] = {
    "dynamic": False,
    "properties": {
        "id": _KEYWORD,
        "candidate": _KEYWORD,
        "source": _KEYWORD,
        "published_at": _DATE,
        "scored_at": _DATE,
        "sentiment": {
            "properties": {"label": _KEYWORD, "score": _FLOAT},
        },
        "topic": {
            "properties": {"label": _KEYWORD, "confidence": _FLOAT},
        },
    },
}

_WINDOW_STATS = {
    "properties": {
        "total": {"type": "long"},
        "negative": {"type": "long"},
        "negative_share": _FLOAT,
        "mean_score": _FLOAT,
    }
}

ALERTS_MAPPINGS: dict[str, Any] = {
    "dynamic": False,
    "properties": {
        "id": _KEYWORD,
        "rule": _KEYWORD,
        "scope": {"properties": {"kind": _KEYWORD, "value": _KEYWORD}},
        "severity": _KEYWORD,
        "state": _KEYWORD,
        "started_at": _DATE,
        "fired_at": _DATE,
        "resolved_at": _DATE,
        "current": _WINDOW_STATS,
        "baseline": _WINDOW_STATS,
        "thresholds_version": {"type": "integer"},
        "model_version": _KEYWORD,
        "examples": {"type": "object", "enabled": False},
        "kibana_url": {"type": "keyword", "index": False},
        "updated_at": _DATE,
        "notifications": {"type": "integer"},
        # The rule's one-sentence reason, and the example documents' text (for free-text search).
        "verdict": {"properties": {"reason": {"type": "text"}}},
        "evidence": {"type": "text"},
        # Acknowledgement in force, and what analysts did (acknowledge, unacknowledge, note).
        "acked_by": _KEYWORD,
        "acked_at": _DATE,
        "acked_severity": _KEYWORD,
        "activity": {
            "properties": {
                "at": _DATE,
                "by": _KEYWORD,
                "action": _KEYWORD,
                "text": {"type": "text"},
            }
        },
        # The latest analyst verdict: useful or noise (`undertow thresholds suggest` reads it).
        "feedback": {
            "properties": {
                "verdict": _KEYWORD,
                "by": _KEYWORD,
                "at": _DATE,
                "note": {"type": "text"},
            }
        },
        # The incident (the id of its first alert) and, on that one, the alerts grouped in.
        "incident": _KEYWORD,
        "related": {
            "properties": {
                "id": _KEYWORD,
                "rule": _KEYWORD,
                "scope": _KEYWORD,
                "severity": _KEYWORD,
                "fired_at": _DATE,
            }
        },
    },
}


def docs_index(published_at: datetime, prefix: str = PREFIX) -> str:
    """The daily index of a scored document, by event time (so a replay hits the same index)."""
    return f"{prefix}-docs-{published_at.astimezone(UTC):%Y.%m.%d}"


def docs_pattern(prefix: str = PREFIX) -> str:
    """The pattern matching every daily docs index (for searches, Kibana and the template)."""
    return f"{prefix}-docs*"


def alerts_index(prefix: str = PREFIX) -> str:
    """The alerts index."""
    return f"{prefix}-alerts"


def corrections_index(prefix: str = PREFIX) -> str:
    """The analysts' corrections of model answers (one per document)."""
    return f"{prefix}-corrections"


def shadow_index(prefix: str = PREFIX) -> str:
    """Candidate models' answers from shadow workers (``undertow models compare`` reads it)."""
    return f"{prefix}-shadow"


def index_templates(prefix: str = PREFIX, replicas: int = 0) -> dict[str, dict[str, Any]]:
    """Composable index templates by name, ready for ``indices.put_index_template``."""
    settings = {"number_of_replicas": replicas}
    return {
        f"{prefix}-docs": {
            "index_patterns": [docs_pattern(prefix)],
            "template": {"settings": settings, "mappings": DOCS_MAPPINGS},
            "priority": 200,
        },
        alerts_index(prefix): {
            "index_patterns": [f"{alerts_index(prefix)}*"],
            "template": {"settings": settings, "mappings": ALERTS_MAPPINGS},
            "priority": 200,
        },
        corrections_index(prefix): {
            "index_patterns": [corrections_index(prefix)],
            "template": {"settings": settings, "mappings": CORRECTIONS_MAPPINGS},
            "priority": 200,
        },
        shadow_index(prefix): {
            "index_patterns": [shadow_index(prefix)],
            "template": {"settings": settings, "mappings": SHADOW_MAPPINGS},
            "priority": 200,
        },
    }
