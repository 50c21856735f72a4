"""The alert evaluator restarted while an alert is firing: no duplicate notification, no lost
alert, no lost acknowledgement (also when the acknowledgement lands mid-evaluation)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import orjson

from alerting.alert_store import ScopeChange
from alerting.evaluator import state_key
from alerting.records import NOTICES
from alerting.service import build
from tests.integration.conftest import alerting_pipeline  # noqa: F401 (fixture)
from tests.integration.pipeline import Pipeline
from tests.integration.test_alerting import store
from tests.integration.traffic import background, burst, now


def _notified(pipeline: Pipeline) -> list[tuple[str, str]]:
    """(scope, event) of every notification on the pipeline's alerts topic."""
    out = []
    for value, _ in pipeline.messages(pipeline.settings.kafka.topics.alerts):
        body = orjson.loads(value or b"{}")
        scope = body["alert"]["scope"]
        out.append((f"{scope['kind']}:{scope['value']}", body["event"]))
    return out


def test_restart_while_firing_keeps_the_alert_and_its_acknowledgement(
    alerting_pipeline: Pipeline,  # noqa: F811
    figure: Callable[[str], None],
) -> None:
    pipeline = alerting_pipeline
    first = build(pipeline.settings)
    t0 = now()
    store(first, background(t0 - timedelta(hours=2), t0, per_minute=30), pipeline)
    store(first, burst(t0 - timedelta(minutes=3), 3, 15, topic="Macro", ticker="ZZZ"), pipeline)
    events = first.evaluator.tick() + first.evaluator.tick()
    fired = {a.scope.name: a for a, e in events if e == "fired" and a.rule == "negative_spike"}
    assert set(fired) == {"topic:Macro", "ticker:ZZZ"}
    alert = fired["ticker:ZZZ"]

    # An evaluation reads the alert, an analyst acknowledges it, the evaluation commits its copy.
    alerts = first.services.alerts
    stale = alerts.get(alert.id)
    assert stale is not None
    acked_at = datetime.now(UTC)
    assert alerts.acknowledge(alert.id, "analyst:1234abcd", acked_at) is not None
    key = state_key("negative_spike", "ticker:ZZZ")
    alerts.commit(ScopeChange(key, alerts.states()[key], stale))

    for _ in range(3):  # the restarted evaluator (a new process builds exactly this) goes on
        second = build(pipeline.settings)
        assert second.evaluator.tick() == []
    kept = second.services.alerts.get(alert.id)
    assert kept is not None and kept.state == "firing"
    assert kept.acked_by == "analyst:1234abcd" and kept.acked_at == acked_at
    assert kept.notifications == alert.notifications
    firing = {a.scope.name for a in second.services.alerts.recent() if a.state == "firing"}
    assert firing == {"topic:Macro", "ticker:ZZZ"}
    notified = _notified(pipeline)
    figure(f"evaluator restarted 3 times while firing: notifications {notified}")
    # Each alert of the burst (the negative rule's, and any other rule's that saw it) once; the
    # acknowledgement once, and the leads' lists of their incidents (notices: nobody paged).
    lifecycle = [(scope, e) for scope, e in notified if e not in NOTICES]
    assert sorted(lifecycle) == sorted((a.scope.name, e) for a, e in events)
    assert [n for n in notified if n[1] == "acknowledged"] == [("ticker:ZZZ", "acknowledged")]
    assert {e for _, e in notified} - {"fired"} <= set(NOTICES)
    assert {scope for scope, _ in notified} == {"ticker:ZZZ", "topic:Macro"}
