"""Reading replay files and spreading event times."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from streaming.replay import ReplayError, read_documents, spread_times

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "twitter_financial_news_topic"


def test_a_dataset_csv_replays_its_text_without_the_label() -> None:
    docs = read_documents(FIXTURE / "dev.csv", limit=5)
    assert len(docs) == 5
    assert all(set(d) == {"text"} and d["text"] for d in docs)


def test_jsonl_keeps_its_fields_and_bad_lines_are_named(tmp_path: Path) -> None:
    good = tmp_path / "feed.jsonl"
    good.write_text('{"id": "1", "text": "a", "tickers": ["X"]}\n\n{"id": "2", "text": "b"}\n')
    assert read_documents(good) == [
        {"id": "1", "text": "a", "tickers": ["X"]},
        {"id": "2", "text": "b"},
    ]
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "1", "text": "a"}\nnot json\n')
    with pytest.raises(ReplayError, match=r"bad.jsonl:2"):
        read_documents(bad)
    with pytest.raises(ReplayError, match="text"):
        (tmp_path / "x.csv").write_text("body,label\nhello,1\n")
        read_documents(tmp_path / "x.csv")
    with pytest.raises(ReplayError, match="expected"):
        (tmp_path / "x.txt").write_text("hello")
        read_documents(tmp_path / "x.txt")


def test_spread_times_cover_the_interval_evenly_oldest_first() -> None:
    now = datetime(2026, 1, 1, 12, tzinfo=UTC)
    times = spread_times(4, timedelta(hours=2), now)
    assert times == [now - timedelta(minutes=m) for m in (90, 60, 30, 0)]
