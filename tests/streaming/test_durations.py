from __future__ import annotations

import pytest

from streaming.durations import DurationError, parse_duration


@pytest.mark.parametrize(
    ("text", "seconds"), [("90s", 90), ("15m", 900), ("2h", 7200), ("7d", 604800)]
)
def test_durations(text: str, seconds: int) -> None:
    assert parse_duration(text).total_seconds() == seconds


@pytest.mark.parametrize("text", ["15", "m", "-5m", "1.5h", "3w", ""])
def test_bad_durations_say_how_to_write_one(text: str) -> None:
    with pytest.raises(DurationError, match="15m"):
        parse_duration(text)


def test_a_duration_past_a_year_is_refused() -> None:
    with pytest.raises(DurationError, match="longer than a year"):
        parse_duration("400d")
