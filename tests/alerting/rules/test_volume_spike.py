"""The volume (buzz) spike rule, as plain data."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from alerting.rules.volume_spike import VolumeThresholds, evaluate
from streaming.windows import Stats

T = VolumeThresholds()  # window 10 min, baseline 2 h: 12 windows; ratio 4, z 5, min 20 docs
W, B = T.window_s, T.baseline_s


def docs(total: int, negative: int = 0) -> Stats:
    return Stats(total=total, negative=negative, positive=total - negative)


def test_a_surge_of_positive_attention_fires_whatever_its_tone() -> None:
    v = evaluate(docs(120), docs(240), T, window_s=W, baseline_s=B)  # 20 expected per window
    assert v.spiking and v.severity == "warning"
    assert v.figures["expected"] == pytest.approx(20) and v.figures["ratio"] == pytest.approx(6)
    assert "120 documents" in v.reason and "6.0x" in v.reason


def test_a_tenfold_surge_is_critical() -> None:
    assert evaluate(docs(250), docs(240), T, window_s=W, baseline_s=B).severity == "critical"


@pytest.mark.parametrize(
    ("current", "baseline", "market", "why"),
    [
        (docs(15), docs(0), docs(5000), "too few documents"),
        (docs(60), docs(240), None, "ratio 3.00 < 4.0"),  # busy, but only 3x its usual
        (docs(30), docs(0), docs(10), "too small a baseline"),  # no history anywhere yet
    ],
)
def test_no_alert_without_enough_evidence(
    current: Stats, baseline: Stats, market: Stats | None, why: str
) -> None:
    v = evaluate(current, baseline, T, window_s=W, baseline_s=B, market=market)
    assert not v.spiking and why in v.reason


def test_a_name_nobody_wrote_about_is_judged_against_the_floor() -> None:
    # 30 documents on a ticker with no baseline: 10x the floor of 3 per window.
    v = evaluate(docs(30), docs(0), T, window_s=W, baseline_s=B, market=docs(5000))
    assert v.spiking and v.figures["expected"] == T.expected_floor


def test_a_surge_holds_until_it_falls_below_the_resolve_ratio() -> None:
    falling = evaluate(docs(50), docs(240), T, window_s=W, baseline_s=B)  # 2.5x
    assert not falling.spiking and falling.holding
    assert not evaluate(docs(35), docs(240), T, window_s=W, baseline_s=B).holding  # 1.75x


def test_inconsistent_thresholds_are_refused() -> None:
    with pytest.raises(ValidationError, match="resolve_ratio"):
        VolumeThresholds(ratio=3.0, resolve_ratio=3.5)
