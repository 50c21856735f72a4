from __future__ import annotations

import pytest

from alerting.alert_store import MemoryAlertStore, ScopeChange
from alerting.lease import Fence, Fenced
from alerting.lifecycle import ScopeState
from tests.alerting.alert_store_contract import check_alert_store


def test_memory_store_meets_the_contract() -> None:
    check_alert_store(MemoryAlertStore())


def test_memory_store_refuses_a_commit_under_an_old_epoch() -> None:
    store = MemoryAlertStore()
    store.epoch = 2
    pending = ScopeState(alert_id="a", phase="pending", streak=1)
    with pytest.raises(Fenced):
        store.commit(ScopeChange("r/all", pending), Fence("epoch", 1))
    assert store.states() == {}
    store.commit(ScopeChange("r/all", pending), Fence("epoch", 2))
    assert store.states() == {"r/all": pending}
