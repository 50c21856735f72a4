"""The AlertStore contract, run against every implementation (memory here, Redis in
tests/integration)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from alerting.alert_store import AlertStore
from alerting.lifecycle import ScopeState
from alerting.records import Alert, Scope


def make_alert(started: datetime, **changes: object) -> Alert:
    alert = Alert(
        id=uuid.uuid4().hex[:16],
        scope=Scope.parse("ticker:ACME"),
        severity="warning",
        state="firing",
        started_at=started,
        updated_at=started,
        current={"total": 20, "negative_share": 0.8},
        baseline={"total": 200, "negative_share": 0.1},
        thresholds_version=1,
    )
    return alert.model_copy(update=changes)


def check_alert_store(store: AlertStore) -> None:
    """Save, read back, newest first, since, delete, acknowledgements kept, states."""
    now = datetime.now(UTC).replace(microsecond=0)
    old, new = make_alert(now - timedelta(hours=2)), make_alert(now)
    store.save(old)
    store.save(new)
    assert store.get(new.id) == new
    assert store.get("no-such-alert") is None
    ids = [a.id for a in store.recent()]
    assert ids.index(new.id) < ids.index(old.id)
    assert old.id not in [a.id for a in store.recent(since=now - timedelta(hours=1))]

    # An evaluator writing back a copy read before the acknowledgement keeps the ack.
    store.save(new.model_copy(update={"acked_by": "analyst:1234", "acked_at": now}))
    store.save(new.model_copy(update={"state": "resolved"}))
    stored = store.get(new.id)
    assert stored is not None
    assert (stored.state, stored.acked_by) == ("resolved", "analyst:1234")

    store.delete(old.id)
    assert store.get(old.id) is None
    assert old.id not in [a.id for a in store.recent()]

    firing = ScopeState(alert_id=new.id, phase="firing", streak=3, severity="critical")
    store.save_states({"ticker:ACME": firing, "all": ScopeState()})
    assert store.states() == {"ticker:ACME": firing}  # idle-and-calm states are not kept
    store.save_states({})
    assert store.states() == {}
