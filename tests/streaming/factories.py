"""Scored documents for tests."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from streaming.fingerprint import fingerprint
from streaming.records import ModelRef, ScoredDoc, Sentiment, Topic


def scored(
    text: str = "Shares slump after profit warning",
    *,
    label: str = "negative",
    topic: str = "Earnings",
    tickers: tuple[str, ...] = (),
    doc_id: str | None = None,
    published_at: datetime | None = None,
) -> ScoredDoc:
    """A plausible ScoredDoc (scores consistent with the label)."""
    probs = {"negative": 0.1, "neutral": 0.1, "positive": 0.1} | {label: 0.8}
    return ScoredDoc(
        id=doc_id or uuid.uuid4().hex,
        text=text,
        title=None,
        source="news",
        published_at=published_at or datetime.now(UTC),
        tickers=list(tickers),
        sentiment=Sentiment(label=label, score=probs["positive"] - probs["negative"], probs=probs),
        topic=Topic(label=topic, confidence=0.9),
        fingerprint=fingerprint(text),
        model=ModelRef(name="test", version="test-1"),
        scored_at=datetime.now(UTC),
        latency_ms=12.5,
    )
