from __future__ import annotations

from alerting.alert_store import MemoryAlertStore
from tests.alerting.alert_store_contract import check_alert_store


def test_memory_store_meets_the_contract() -> None:
    check_alert_store(MemoryAlertStore())
