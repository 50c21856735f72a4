"""The negative-share spike rule, as plain data."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from alerting.rules.negative_spike import NegativeSpike, SpikeThresholds, evaluate
from streaming.windows import Stats, Window

T = SpikeThresholds()  # window 10 min, baseline 2 h, min 10 docs, share 0.4, ratio 2, z 4


def stats(total: int, negative: int) -> Stats:
    return Stats(total=total, negative=negative, neutral=total - negative)


def test_a_clear_spike_against_a_calm_baseline_fires() -> None:
    v = evaluate(stats(40, 30), stats(400, 40), T)
    assert v.spiking and v.severity == "critical"  # 75% vs 10%: ratio 7.5
    assert v.figures["ratio"] == pytest.approx(7.5) and v.figures["z"] > 3


def test_a_moderate_spike_is_a_warning() -> None:
    v = evaluate(stats(60, 27), stats(400, 80), T)  # 45% vs 20%: ratio 2.25
    assert v.spiking and v.severity == "warning"


@pytest.mark.parametrize(
    ("current", "baseline", "why"),
    [
        (stats(0, 0), stats(0, 0), "too few documents"),  # 0 vs 0
        (stats(5, 5), stats(400, 40), "too few documents"),  # tiny window
        (stats(40, 30), stats(10, 1), "too small a baseline"),  # tiny baseline, no fallback
        (stats(40, 12), stats(400, 40), "negative share 0.30 < 0.4"),
        (stats(40, 20), stats(400, 120), "ratio 1.67 < 2.0"),  # already a negative scope
    ],
)
def test_no_alert_without_enough_evidence(current: Stats, baseline: Stats, why: str) -> None:
    v = evaluate(current, baseline, T)
    assert not v.spiking and why in v.reason


def test_a_new_ticker_is_judged_against_the_market_baseline() -> None:
    no_history = stats(0, 0)
    assert not evaluate(stats(20, 18), no_history, T).spiking
    assert evaluate(stats(20, 18), no_history, T, fallback=stats(3000, 450)).spiking


def test_inconsistent_thresholds_are_refused_naming_the_problem() -> None:
    with pytest.raises(ValidationError, match="resolve_share"):
        SpikeThresholds(share=0.3, resolve_share=0.5)


def test_reposts_weigh_in_only_when_the_thresholds_say_so() -> None:
    # One negative story reposted 30 times: one unique document, 31 in all.
    storm = Window([0], [stats(40, 31)], [stats(10, 1)])
    calm = Window([0], [stats(400, 40)], [stats(400, 40)])
    rule = NegativeSpike()
    assert not rule.evaluate(storm, calm, T, None).spiking  # a story counts once
    assert rule.evaluate(storm, calm, T.model_copy(update={"count_reposts": True}), None).spiking
