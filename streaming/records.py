"""Records that cross a boundary, defined once and validated at the edge (see ARCHITECTURE.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class RawDoc(_Record):
    """An input document after decoding and field mapping."""

    id: str = Field(min_length=1, max_length=256)
    text: str = Field(min_length=1)
    title: str | None = None
    source: str = Field(min_length=1, max_length=64)
    source_name: str | None = None
    published_at: AwareDatetime
    url: str | None = None
    author: str | None = None
    lang: str | None = None
    tickers: list[str] = []
    # Tickers the feed gave that were not kept: not symbols, or over streaming.max_tickers.
    tickers_dropped: int = Field(default=0, ge=0)


class Sentiment(_Record):
    """The sentiment head's answer; ``score`` is p_pos - p_neg."""

    label: str
    score: float = Field(ge=-1.0, le=1.0)
    probs: dict[str, float]


class Topic(_Record):
    """The topic head's answer."""

    label: str
    confidence: float = Field(ge=0.0, le=1.0)


class Entity(_Record):
    """An instrument the entity linker found in a document (models.serving.entities)."""

    ticker: str
    name: str
    exchange: str | None = None
    isin: str | None = None
    matched: str  # the text as written
    where: Literal["title", "lead", "body"]
    count: int = Field(ge=1)
    relevance: float = Field(ge=0.0, le=1.0)


class ModelRef(_Record):
    """Which model scored a document."""

    name: str
    version: str


class ScoredDoc(RawDoc):
    """A RawDoc with the models' answers, stamped with the model version."""

    sentiment: Sentiment
    topic: Topic
    fingerprint: str
    duplicate_of: str | None = None
    # Near-duplicates within streaming.story_horizon_s share it: the first document's id.
    story_id: str | None = None
    # Companies named in the text; those at or above streaming.entity_min_relevance are tickers.
    entities: list[Entity] = []
    model: ModelRef
    scored_at: datetime
    latency_ms: float = Field(ge=0.0)


def scored_text(title: str | None, text: str) -> str:
    """What the models read of a document: the title first (it carries the story's tone), then
    the body."""
    if title and title not in text:
        return f"{title}\n{text}"
    return text
