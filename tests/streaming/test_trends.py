"""Scopes as people type them, and the trends read path over the windows."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from streaming.trends import ScopeError, parse_scope, trend
from streaming.window_store import Countable, MemoryWindowStore
from tests.streaming.factories import scored


def test_scopes() -> None:
    assert parse_scope("all") == "all"
    assert parse_scope("topic:Fed | Central Banks") == "topic:Fed | Central Banks"
    assert parse_scope("ticker:$aapl") == "ticker:AAPL"
    assert parse_scope("source:news") == "source:news"
    for bad in ("everything", "topic:", "sector:tech", "all:x"):
        with pytest.raises(ScopeError, match="topic:NAME"):
            parse_scope(bad)


def test_trend_sums_the_window_and_lists_its_buckets() -> None:
    store = MemoryWindowStore(bucket_s=60)
    now = time.time()
    docs = [
        scored(label="negative", published_at=datetime.fromtimestamp(now - 30, UTC)),
        scored(label="positive", published_at=datetime.fromtimestamp(now - 200, UTC)),
        scored(label="negative", published_at=datetime.fromtimestamp(now - 4000, UTC)),
    ]
    store.add([Countable.of(d) for d in docs])
    result = trend(store, "all", 900, now)
    assert (result.total, result.negative, result.positive) == (2, 1, 1)
    assert result.negative_share == 0.5
    assert len(result.series) == 15 and sum(b.total for b in result.series) == 2
    assert result.unique.total == 1  # the same text twice: a repost counts once
