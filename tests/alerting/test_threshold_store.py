from __future__ import annotations

from alerting.threshold_store import MemoryThresholdStore
from tests.alerting.threshold_store_contract import check_threshold_store


def test_memory_store_meets_the_contract() -> None:
    check_threshold_store(MemoryThresholdStore())
