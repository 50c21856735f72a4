"""Properties of the negative-share spike rule, over generated windows."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from alerting.rules.negative_spike import SpikeThresholds, evaluate
from streaming.windows import Stats
from tests.alerting.strategies import thresholds


@st.composite
def stats(draw: st.DrawFn, max_total: int = 400) -> Stats:
    neg = draw(st.integers(0, max_total))
    neu = draw(st.integers(0, max_total))
    pos = draw(st.integers(0, max_total))
    total = neg + neu + pos
    score = draw(st.floats(-1, 1)) * total
    return Stats(total, neg, neu, pos, score)


@given(stats(), stats(), thresholds)
def test_an_empty_or_small_window_never_spikes(
    baseline: Stats, fallback: Stats, t: SpikeThresholds
) -> None:
    small = Stats(total=t.min_docs - 1, negative=t.min_docs - 1)
    for current in (Stats(), small):
        verdict = evaluate(current, baseline, t, fallback)
        assert not verdict.spiking and verdict.severity is None


@given(stats(), stats(), thresholds)
def test_a_spike_meets_every_threshold_and_holds(
    current: Stats, baseline: Stats, t: SpikeThresholds
) -> None:
    verdict = evaluate(current, baseline, t)
    if verdict.spiking:
        got = verdict.figures
        assert current.total >= t.min_docs and current.negative >= t.min_negative
        assert got["share"] >= t.share and got["ratio"] >= t.ratio and got["z"] >= t.z
        assert verdict.holding  # a spike is always above the (lower) resolve thresholds
        assert (verdict.severity == "critical") == (
            got["ratio"] >= t.critical.ratio and got["share"] >= t.critical.share
        )
