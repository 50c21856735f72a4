"""The AlertStore contract, run against every implementation (memory here, Redis in
tests/integration)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from alerting.alert_store import AlertStore, ScopeChange
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
    """Save, read back, newest first, since, forget, acknowledgements kept, states, outbox."""
    now = datetime.now(UTC).replace(microsecond=0)
    old, new = make_alert(now - timedelta(hours=2)), make_alert(now)

    def save(alert: Alert) -> None:
        store.commit(ScopeChange("negative_spike/ticker:ACME", ScopeState(), alert))

    save(old)
    save(new)
    assert store.get(new.id) == new
    assert store.get("no-such-alert") is None
    ids = [a.id for a in store.recent()]
    assert ids.index(new.id) < ids.index(old.id)
    assert old.id not in [a.id for a in store.recent(since=now - timedelta(hours=1))]

    # An evaluator writing back a copy read before the acknowledgement keeps the ack.
    store.acknowledge(new.id, "analyst:1234", now)
    save(new.model_copy(update={"state": "resolved"}))
    stored = store.get(new.id)
    assert stored is not None
    assert (stored.state, stored.acked_by) == ("resolved", "analyst:1234")

    store.commit(ScopeChange("negative_spike/ticker:ACME", ScopeState(), drop=old.id))
    assert store.get(old.id) is None
    assert old.id not in [a.id for a in store.recent()]

    check_commits(store, now)
    check_outbox(store, now)
    check_analyst_actions(store, now)
    check_verdicts(store, now)


def check_commits(store: AlertStore, now: datetime) -> None:
    """A scope's state, alert and notification at once; acknowledgements compare-and-set."""
    alert = make_alert(now)
    firing = ScopeState(alert_id=alert.id, phase="firing", streak=3, severity="critical")
    store.commit(ScopeChange("negative_spike/ticker:ACME", firing, alert, event="fired"))
    store.commit(ScopeChange("negative_spike/all", ScopeState()))
    # idle-and-calm states are not kept
    assert store.states() == {"negative_spike/ticker:ACME": firing}
    assert store.get(alert.id) == alert

    # An analyst acknowledges what is stored, not a copy read earlier: the alert resolved in
    # the meantime stays resolved, and the first acknowledger stays the acknowledger.
    store.commit(ScopeChange("negative_spike/ticker:ACME", ScopeState(),
                             alert.model_copy(update={"state": "resolved"})))  # fmt: skip
    acked = store.acknowledge(alert.id, "analyst:first", now)
    assert acked is not None and (acked.state, acked.acked_by) == ("resolved", "analyst:first")
    again = store.acknowledge(alert.id, "analyst:second", now + timedelta(minutes=1))
    assert again is not None and (again.acked_by, again.acked_at) == ("analyst:first", now)
    assert store.acknowledge("no-such-alert", "analyst:x", now) is None
    assert store.states() == {}

    pending = make_alert(now, state="pending")
    store.commit(ScopeChange("negative_spike/ticker:ZZZ", ScopeState(), pending))
    store.commit(ScopeChange("negative_spike/ticker:ZZZ", ScopeState(), drop=pending.id))
    assert store.get(pending.id) is None


def check_outbox(store: AlertStore, now: datetime) -> None:
    """Notifications in commit order; one left in flight is delivered again, first."""
    while (left := store.take_notification(0)) is not None:  # from check_commits
        store.delivered(left)
    first, second = make_alert(now), make_alert(now)
    store.commit(ScopeChange("r/ticker:A", ScopeState(), first, event="fired"))
    store.commit(ScopeChange("r/ticker:B", ScopeState(), second, event="resolved"))
    taken = store.take_notification(0)
    assert taken is not None and (taken.alert.id, taken.event) == (first.id, "fired")
    # The evaluator dies before it has delivered: the next one puts it back, first in line.
    assert store.requeue_in_flight() == 1
    again = store.take_notification(0)
    assert again is not None and again.alert == first
    store.delivered(again)
    last = store.take_notification(0)
    assert last is not None and (last.alert.id, last.event) == (second.id, "resolved")
    store.delivered(last)
    assert store.take_notification(0) is None and store.requeue_in_flight() == 0


def _drain(store: AlertStore) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    while (taken := store.take_notification(0)) is not None:
        store.delivered(taken)
        out.append((taken.alert.id, taken.event))
    return out


def check_analyst_actions(store: AlertStore, now: datetime) -> None:
    """Acknowledge, unacknowledge and note: kept with who and when, each notified once, and
    never undone by the evaluator writing back a copy it read before."""
    _drain(store)
    alert = make_alert(now)
    firing = ScopeState(alert_id=alert.id, phase="firing", streak=1, severity="warning")
    store.commit(ScopeChange("negative_spike/ticker:ACK", firing, alert))
    assert [a.id for a in store.active()] == [alert.id]
    acked = store.acknowledge(alert.id, "analyst:a", now)
    assert acked is not None and acked.acknowledged and acked.acked_severity == "warning"
    store.note(alert.id, "analyst:b", now + timedelta(seconds=1), "earnings call at 3pm")
    store.unacknowledge(alert.id, "analyst:b", now + timedelta(seconds=2))
    # The evaluator's copy, read while acknowledged, does not bring the acknowledgement back.
    store.commit(ScopeChange("negative_spike/ticker:ACK", firing, acked))
    stored = store.get(alert.id)
    assert stored is not None and stored.acked_by is None and not stored.acknowledged
    assert [(e.action, e.by, e.text) for e in stored.activity] == [
        ("acknowledged", "analyst:a", None),
        ("note", "analyst:b", "earnings call at 3pm"),
        ("unacknowledged", "analyst:b", None),
    ]
    # Unacknowledging again changes nothing and notifies nobody.
    store.unacknowledge(alert.id, "analyst:c", now + timedelta(seconds=3))
    assert [e for i, e in _drain(store) if i == alert.id] == [
        "acknowledged",
        "noted",
        "unacknowledged",
    ]
    # An escalation ends the acknowledgement's hold; a new acknowledgement takes it again.
    store.acknowledge(alert.id, "analyst:a", now + timedelta(seconds=4))
    critical = alert.model_copy(update={"severity": "critical"})
    store.commit(ScopeChange("negative_spike/ticker:ACK", firing, critical))
    escalated = store.get(alert.id)
    assert escalated is not None and escalated.acked_by == "analyst:a"
    assert not escalated.acknowledged
    again = store.acknowledge(alert.id, "analyst:d", now + timedelta(seconds=5))
    assert again is not None and again.acknowledged and again.acked_by == "analyst:d"
    store.commit(ScopeChange("negative_spike/ticker:ACK", ScopeState()))
    assert alert.id not in [a.id for a in store.active()]
    _drain(store)


def check_verdicts(store: AlertStore, now: datetime) -> None:
    """An analyst's verdict (useful or noise): the latest counts, kept with who and when, noted
    in the activity, notified once, and kept when the evaluator writes back an older copy."""
    _drain(store)
    alert = make_alert(now)
    firing = ScopeState(alert_id=alert.id, phase="firing", streak=1, severity="warning")
    store.commit(ScopeChange("negative_spike/ticker:FBK", firing, alert))
    _drain(store)
    first = store.judge(alert.id, "analyst:a", now, "noise", "a dozen reposts")
    assert first is not None and first.feedback is not None
    assert (first.feedback.verdict, first.feedback.note) == ("noise", "a dozen reposts")
    second = store.judge(alert.id, "analyst:b", now + timedelta(seconds=1), "useful")
    assert second is not None and second.feedback is not None
    assert (second.feedback.verdict, second.feedback.by) == ("useful", "analyst:b")
    store.commit(ScopeChange("negative_spike/ticker:FBK", firing, alert))  # an older copy
    stored = store.get(alert.id)
    assert stored is not None and stored.feedback is not None
    assert stored.feedback.verdict == "useful"
    assert [(e.action, e.text) for e in stored.activity] == [
        ("judged", "noise: a dozen reposts"), ("judged", "useful")
    ]  # fmt: skip
    assert [e for i, e in _drain(store) if i == alert.id] == ["judged", "judged"]
    assert store.judge("no-such-alert", "analyst:a", now, "noise") is None
