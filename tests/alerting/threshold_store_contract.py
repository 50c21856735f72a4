"""The ThresholdStore contract, run against every implementation (memory here, Redis in
tests/integration)."""

from __future__ import annotations

import pytest

from alerting.rules.negative_spike import SpikeThresholds
from alerting.threshold_store import ThresholdStore
from alerting.thresholds import ThresholdError, initial_set


def check_threshold_store(store: ThresholdStore) -> None:
    """Version 1 from the defaults file, versioned changes with their audit, refusals."""
    first = store.current()
    assert first == initial_set()
    new = store.change({"ticker": {"ratio": 3}}, {"ticker:ACME": {"min_docs": 5}},
                       by="operator:abcd", reason="quieter tickers")  # fmt: skip
    assert new.version == first.version + 1
    assert store.current() == new
    assert new.for_scope("negative_spike", "ticker:ACME").min_docs == 5
    assert new.for_scope("negative_spike", "ticker:OTHER") == SpikeThresholds(min_docs=10, ratio=3)
    [entry] = store.history()
    assert (entry["version"], entry["by"], entry["reason"]) == (new.version, "operator:abcd",
                                                                "quieter tickers")  # fmt: skip
    assert entry["old"]["version"] == first.version

    with pytest.raises(ThresholdError) as info:
        store.change({"ticker": {"ratio": 0.5}}, None, by="operator:abcd", reason="bad")
    assert info.value.field == "defaults.ticker.ratio"
    assert store.current() == new
    assert len(store.history()) == 1
