"""The backtest: assignments and sweeps over a threshold set, and the run over history through
the live evaluator (on in-memory windows built from per-bucket counts)."""

from __future__ import annotations

import pytest

from alerting.backtest import with_values
from alerting.rules.negative_spike import SpikeThresholds
from alerting.thresholds import ThresholdError, initial_set

RULE = "negative_spike"


def test_backtest_assignments_apply_per_kind_or_to_all() -> None:
    changed = with_values(initial_set(), ["ratio=3", "ticker.min_docs=4"]).of(RULE).defaults
    assert {getattr(t, "ratio", None) for t in changed.values()} == {3.0}
    assert changed["ticker"].min_docs == 4 and changed["topic"].min_docs == 10
    named = with_values(initial_set(), ["negative_spike.topic.z=2"]).of(RULE).defaults
    assert named["topic"] == SpikeThresholds(min_docs=10, z=2)
    with pytest.raises(ThresholdError, match="sector"):
        with_values(initial_set(), ["sector.ratio=3"])
    with pytest.raises(ThresholdError, match="no rule has a threshold"):
        with_values(initial_set(), ["no_such_key=3"])
