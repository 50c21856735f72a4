"""The trends read path: sentiment counts of a scope over a window, from the Redis buckets."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from streaming import keys
from streaming.exceptions import StreamingError
from streaming.window_store import WindowStore


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


def trend(store: WindowStore, scope: str, window_s: int, end_s: float) -> dict[str, Any]:
    """Totals, shares and the per-bucket series of ``scope`` over the window ending at end_s."""
    window = store.window(scope, end_s, window_s)
    series = [
        {"start": datetime.fromtimestamp(start, UTC).isoformat(), **stats.as_dict()}
        for start, stats in zip(window.starts, window.buckets, strict=True)
    ]
    return {
        "scope": scope,
        "window_s": window_s,
        "end": datetime.fromtimestamp(end_s, UTC).isoformat(),
        **window.stats.as_dict(),
        "unique": window.unique.as_dict(),
        "series": series,
    }
