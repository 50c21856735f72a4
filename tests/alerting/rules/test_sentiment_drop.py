"""The mean-score drop rule, as plain data."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from alerting.rules.sentiment_drop import DropThresholds, evaluate
from streaming.windows import Stats

T = DropThresholds()  # drop 0.45, z 4, min 15 docs


def tone(positive: int, neutral: int, negative: int) -> Stats:
    """Documents scored +0.8, 0 and -0.8."""
    return Stats(positive + neutral + negative, negative, neutral, positive,
                 0.8 * (positive - negative))  # fmt: skip


def test_a_slide_in_tone_fires_even_when_the_negative_share_stays_low() -> None:
    # Positive news fades to neutral: the negative share is 10% before and after.
    v = evaluate(tone(0, 36, 4), tone(240, 120, 40), T)
    assert v.spiking
    assert v.figures["baseline_mean"] == pytest.approx(0.4) and v.figures["drop"] > 0.45
    assert "below the baseline's +0.40" in v.reason


def test_a_collapse_is_critical() -> None:
    assert evaluate(tone(0, 5, 35), tone(240, 120, 40), T).severity == "critical"


@pytest.mark.parametrize(
    ("current", "baseline", "why"),
    [
        (tone(0, 2, 8), tone(240, 120, 40), "too few documents"),
        (tone(8, 24, 8), tone(240, 120, 40), "drop 0.40 < 0.45"),
        (tone(0, 30, 10), tone(5, 5, 0), "too small a baseline"),
    ],
)
def test_no_alert_without_enough_evidence(current: Stats, baseline: Stats, why: str) -> None:
    v = evaluate(current, baseline, T)
    assert not v.spiking and why in v.reason


def test_a_new_ticker_is_judged_against_the_market_baseline() -> None:
    assert evaluate(tone(0, 10, 20), tone(0, 0, 0), T, fallback=tone(900, 1800, 300)).spiking


def test_a_rising_tone_never_fires() -> None:
    assert not evaluate(tone(40, 0, 0), tone(100, 200, 100), T).spiking


def test_inconsistent_thresholds_are_refused() -> None:
    with pytest.raises(ValidationError, match="resolve_drop"):
        DropThresholds(drop=0.3, resolve_drop=0.4)
