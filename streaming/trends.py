"""The trends read path: sentiment counts of a scope over a window, from the Redis buckets."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import AwareDatetime, BaseModel

from streaming import keys
from streaming.exceptions import StreamingError
from streaming.window_store import WindowStore
from streaming.windows import Stats


class Counts(BaseModel):
    """Sentiment counts of a window or a bucket, with the derived figures."""

    total: int
    negative: int
    neutral: int
    positive: int
    negative_share: float
    mean_score: float

    @classmethod
    def of(cls, stats: Stats) -> Counts:
        """From window statistics."""
        return cls.model_validate(stats.as_dict())


class TrendPoint(Counts):
    """One bucket of a trend."""

    start: AwareDatetime


class Trend(Counts):
    """A scope over a window: its totals, one document per story (unique), and the per-bucket
    series."""

    scope: str
    window_s: int
    end: AwareDatetime
    unique: Counts
    series: list[TrendPoint]


class ScopeError(StreamingError):
    """A scope that is not all, topic:X, ticker:X or source:X."""


def parse_scope(text: str) -> str:
    """``all``, ``topic:Earnings``, ``ticker:aapl`` (→ AAPL), ``source:news`` → a scope name."""
    kind, sep, value = text.strip().partition(":")
    if kind == "all" and not sep:
        return keys.scope_name("all")
    if kind not in keys.SCOPE_KINDS[1:] or not value.strip():
        raise ScopeError(f"scope {text!r}: use all, topic:NAME, ticker:SYMBOL or source:NAME")
    value = value.strip()
    return keys.scope_name(kind, value.lstrip("$").upper() if kind == "ticker" else value)


def trend(store: WindowStore, scope: str, window_s: int, end_s: float) -> Trend:
    """Totals, shares and the per-bucket series of ``scope`` over the window ending at end_s."""
    window = store.window(scope, end_s, window_s)
    series = [
        TrendPoint(start=datetime.fromtimestamp(start, UTC), **stats.as_dict())
        for start, stats in zip(window.starts, window.buckets, strict=True)
    ]
    return Trend(
        scope=scope,
        window_s=window_s,
        end=datetime.fromtimestamp(end_s, UTC),
        **window.stats.as_dict(),
        unique=Counts.of(window.unique),
        series=series,
    )
