"""The evaluator's tick with in-memory stores: no Redis, no Elasticsearch."""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, ClassVar

import pytest

from alerting.alert_store import MemoryAlertStore, ScopeChange
from alerting.evaluator import Evaluator, Shard, TickReport, state_key
from alerting.notifiers import MemoryDispatcher
from alerting.records import Alert, AlertEvent
from alerting.rules.base import RuleThresholds, Verdict
from alerting.rules.registry import REGISTRY
from alerting.threshold_store import MemoryThresholdStore
from streaming.window_store import Countable, MemoryWindowStore
from streaming.windows import Window

TICKER = "ticker:ACME"


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def _docs(count: int, label: str, event_s: float, scopes: tuple[str, ...]) -> list[Countable]:
    score = {"negative": -0.8, "neutral": 0.0, "positive": 0.7}[label]
    out = []
    for i in range(count):
        doc_id = uuid.uuid4().hex
        out.append(Countable(doc_id, doc_id, label, score, event_s - i, scopes))
    return out


def _evaluator(windows: MemoryWindowStore, clock: Clock) -> tuple[Evaluator, MemoryAlertStore,
                                                                   MemoryDispatcher]:  # fmt: skip
    alerts, dispatcher = MemoryAlertStore(), MemoryDispatcher()
    evaluator = Evaluator(windows, MemoryThresholdStore(), alerts, dispatcher, None, clock=clock)
    return evaluator, alerts, dispatcher


def _spike(events: Sequence[tuple[Alert, AlertEvent]]) -> list[tuple[Alert, AlertEvent]]:
    """The negative-share spike rule's events (a burst fires the other rules too)."""
    return [(a, e) for a, e in events if a.rule == "negative_spike"]


def _calm_market(windows: MemoryWindowStore, now: float) -> None:
    # Two hours of ordinary traffic: 10% negative, none of it about ACME.
    for minutes in range(15, 120, 5):
        at = now - minutes * 60
        windows.add(_docs(9, "neutral", at, ("all", "source:news")))
        windows.add(_docs(1, "negative", at, ("all", "source:news")))


def test_a_negative_burst_on_a_ticker_fires_once_then_resolves() -> None:
    now = time.time()
    windows, clock = MemoryWindowStore(), Clock(now)
    _calm_market(windows, now)
    windows.add(_docs(20, "negative", now - 30, ("all", TICKER, "source:news")))
    evaluator, alerts, dispatcher = _evaluator(windows, clock)

    assert evaluator.tick() == []  # pending: a spike must hold for two evaluations
    clock.now += 5
    [(alert, event)] = _spike(evaluator.tick())
    assert (event, alert.scope.name, alert.state, alert.severity) == (
        "fired", TICKER, "firing", "critical")  # fmt: skip
    assert alert.current["negative"] == 20
    stored = alerts.get(alert.id)
    assert stored is not None
    assert (stored.state, stored.incident) == ("firing", alert.id)
    # The other rules that fired on the same burst joined its incident: one notification.
    assert {(r.rule, r.scope) for r in stored.related} == {
        ("volume_spike", TICKER), ("sentiment_drop", TICKER)}  # fmt: skip
    clock.now += 5
    assert evaluator.tick() == []  # firing: not announced again before renotify_s
    # The lead's list of its incident reached the page and the history as each joined.
    assert [e for _, e in _spike(dispatcher.events)] == ["fired", "grouped", "grouped"]

    # Twenty minutes later the burst has left the 10-minute window: the alert resolves.
    clock.now += 20 * 60
    events = _spike(evaluator.tick())
    assert [(a.id, e) for a, e in events] == [(alert.id, "resolved")]
    stored = alerts.get(alert.id)
    assert stored is not None
    assert stored.state == "resolved"
    assert alerts.states()[state_key("negative_spike", TICKER)].cooldown_until_s > clock.now

    # Once the cool-down is over and the scope has gone quiet, nothing is held for it.
    clock.now += 16 * 60
    assert evaluator.tick() == []
    assert alerts.states() == {}


def test_calm_traffic_fires_nothing() -> None:
    now = time.time()
    windows, clock = MemoryWindowStore(), Clock(now)
    _calm_market(windows, now)
    for minutes in range(15, 120, 5):  # ACME as busy and as negative before as now
        windows.add(_docs(9, "neutral", now - minutes * 60, (TICKER,)))
        windows.add(_docs(1, "negative", now - minutes * 60, (TICKER,)))
    windows.add(_docs(18, "neutral", now - 30, ("all", TICKER)))
    windows.add(_docs(2, "negative", now - 30, ("all", TICKER)))
    evaluator, alerts, dispatcher = _evaluator(windows, clock)
    for _ in range(3):
        assert evaluator.tick() == []
        clock.now += 5
    assert alerts.recent() == []
    assert dispatcher.events == []


def test_a_threshold_change_takes_effect_at_the_next_tick() -> None:
    now = time.time()
    windows, clock = MemoryWindowStore(), Clock(now)
    _calm_market(windows, now)
    windows.add(_docs(20, "negative", now - 30, ("all", TICKER)))
    thresholds = MemoryThresholdStore()
    thresholds.change(None, {TICKER: {"min_docs": 50}}, by="operator:test", reason="too few")
    dispatcher = MemoryDispatcher()
    evaluator = Evaluator(windows, thresholds, MemoryAlertStore(), dispatcher, None, clock=clock)
    for _ in range(3):
        evaluator.tick()
        clock.now += 5
    assert _spike(dispatcher.events) == []
    thresholds.change(None, {TICKER: None}, by="operator:test", reason="back to defaults")
    evaluator.tick()
    clock.now += 5
    assert [(a.scope.name, e) for a, e in _spike(evaluator.tick())] == [(TICKER, "fired")]


def _only(monkeypatch: pytest.MonkeyPatch, rules: dict[str, Any]) -> None:
    """Run these rules only (in this order)."""
    monkeypatch.setattr("alerting.evaluator.REGISTRY", rules)
    monkeypatch.setattr("alerting.thresholds.REGISTRY", rules)


def test_a_firing_state_stored_before_rules_were_plugins_is_kept(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _only(monkeypatch, {"negative_spike": REGISTRY["negative_spike"]})  # the rule states were of
    now = time.time()
    windows, clock = MemoryWindowStore(), Clock(now)
    _calm_market(windows, now)
    windows.add(_docs(20, "negative", now - 30, ("all", TICKER)))
    evaluator, alerts, dispatcher = _evaluator(windows, clock)
    evaluator.tick()
    clock.now += 5
    [(_alert, _)] = _spike(evaluator.tick())
    # As an older version stored it: the bare scope as the key.
    firing = alerts.states()[state_key("negative_spike", TICKER)]
    alerts.commit(ScopeChange(TICKER, firing, replaces=state_key("negative_spike", TICKER)))
    assert alerts.states() == {TICKER: firing}
    clock.now += 5
    assert evaluator.tick() == []  # still firing: not announced a second time
    assert alerts.states() == {state_key("negative_spike", TICKER): alerts.states()[
        state_key("negative_spike", TICKER)]}  # fmt: skip
    assert [e for _, e in dispatcher.events] == ["fired"]


class Broken:
    """A rule that fails on one scope (as bad data or a bug in a plugin would)."""

    name: ClassVar[str] = "broken"
    summary: ClassVar[str] = "fails on ticker:ACME"
    thresholds: ClassVar[type[RuleThresholds]] = RuleThresholds

    def evaluate(
        self, current: Window, baseline: Window, t: RuleThresholds, fallback: Window | None
    ) -> Verdict:
        raise ZeroDivisionError("a plugin's bug")


def test_a_rule_failing_on_one_scope_leaves_the_others_evaluated(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Registered before the spike rule: the failure comes first in every tick.
    _only(monkeypatch, {"broken": Broken(), "negative_spike": REGISTRY["negative_spike"]})
    now = time.time()
    windows, clock = MemoryWindowStore(), Clock(now)
    _calm_market(windows, now)
    windows.add(_docs(20, "negative", now - 30, ("all", TICKER)))
    evaluator, _, _ = _evaluator(windows, clock)
    reports: list[TickReport] = []
    evaluator.on_tick = reports.append
    evaluator.tick()
    clock.now += 5
    assert [(a.rule, a.scope.name, e) for a, e in evaluator.tick()] == [
        ("negative_spike", TICKER, "fired")
    ]
    assert evaluator.scope_failures > 0
    assert evaluator.ticks == 2
    # What the metrics export: the scopes evaluated by kind (the source has no documents in
    # the window: skipped), and this tick's failures.
    assert reports[-1].scopes == {"all": 1, "ticker": 1}
    assert reports[-1].failures == 2  # the broken rule, on each of the two scopes
    assert all(r.seconds >= 0 for r in reports)


def _acme_history(windows: MemoryWindowStore, now: float) -> None:
    """ACME's ordinary two hours: four documents every 5 minutes, mostly neutral."""
    for minutes in range(15, 120, 5):
        windows.add(_docs(3, "neutral", now - minutes * 60, ("all", TICKER)))
        windows.add(_docs(1, "positive", now - minutes * 60, ("all", TICKER)))


def _fired_rules(count: int, label: str) -> dict[str, Alert]:
    """The rules that fire on ACME, by name, when ``count`` ``label`` documents arrive on top of
    its ordinary traffic and a calm market."""
    now = time.time()
    windows, clock = MemoryWindowStore(), Clock(now)
    _calm_market(windows, now)
    _acme_history(windows, now)
    windows.add(_docs(count, label, now - 30, ("all", TICKER)))
    evaluator, _, _ = _evaluator(windows, clock)
    fired: dict[str, Alert] = {}
    for _ in range(3):
        fired |= {a.rule: a for a, e in evaluator.tick() if e == "fired" and a.scope.name == TICKER}
        clock.now += 5
    return fired


def test_a_surge_of_good_news_fires_the_volume_rule_and_not_the_negative_ones() -> None:
    fired = _fired_rules(60, "positive")
    assert set(fired) == {"volume_spike"}
    why = fired["volume_spike"].verdict["reason"]
    assert "60 documents in the window" in str(why), why


def test_a_negative_burst_fires_each_rule_that_sees_it_each_naming_itself() -> None:
    fired = _fired_rules(40, "negative")
    assert set(fired) == {"negative_spike", "volume_spike", "sentiment_drop"}
    assert "negative" in str(fired["negative_spike"].verdict["reason"])
    assert "below the baseline" in str(fired["sentiment_drop"].verdict["reason"])


def test_shards_share_the_scopes_each_evaluating_its_own(monkeypatch: pytest.MonkeyPatch) -> None:
    _only(monkeypatch, {"negative_spike": REGISTRY["negative_spike"]})
    now = time.time()
    windows, clock = MemoryWindowStore(), Clock(now)
    _calm_market(windows, now)
    bursting = [f"ticker:T{i}" for i in range(12)]
    for scope in bursting:
        windows.add(_docs(20, "negative", now - 30, ("all", scope)))
    fired: list[set[str]] = []
    evaluated: list[int] = []
    alerts = MemoryAlertStore()  # one namespace, as in Redis
    for index in range(3):
        evaluator = Evaluator(windows, MemoryThresholdStore(), alerts, MemoryDispatcher(), None,
                              clock=clock, shard=Shard(index, 3))  # fmt: skip
        reports: list[TickReport] = []
        evaluator.on_tick = reports.append
        evaluator.tick()
        fired.append({a.scope.name for a, e in evaluator.tick() if e == "fired"})
        evaluated.append(sum(reports[-1].scopes.values()))
    assert set().union(*fired) == {*bursting, "all"}  # every scope by some shard
    assert sum(len(f) for f in fired) == len(bursting) + 1  # and by one only
    assert all(fired) and "all" in fired[0]
    assert sum(evaluated) == len(bursting) + 1  # each scope evaluated once in all


def test_an_acknowledged_alert_waits_for_its_escalation(monkeypatch: pytest.MonkeyPatch) -> None:
    _only(monkeypatch, {"negative_spike": REGISTRY["negative_spike"]})
    now = time.time()
    windows, clock = MemoryWindowStore(), Clock(now)
    _calm_market(windows, now)
    # Half of ACME's documents negative: a warning (the critical tier needs 60%).
    windows.add(_docs(10, "negative", now - 30, ("all", TICKER)))
    windows.add(_docs(10, "neutral", now - 30, ("all", TICKER)))
    thresholds = MemoryThresholdStore()
    thresholds.change(None, {TICKER: {"renotify_s": 60}}, by="operator:test", reason="test")
    alerts, dispatcher = MemoryAlertStore(), MemoryDispatcher()
    evaluator = Evaluator(windows, thresholds, alerts, dispatcher, None, clock=clock)
    evaluator.tick()
    clock.now += 5
    [(alert, event)] = evaluator.tick()
    assert (event, alert.severity) == ("fired", "warning")
    alerts.acknowledge(alert.id, "analyst:desk", datetime.now(UTC))
    for _ in range(30):  # two and a half re-notify intervals
        clock.now += 5
        evaluator.tick()
    assert [e for _, e in dispatcher.events] == ["fired", "acknowledged"]
    windows.add(_docs(30, "negative", clock.now - 10, ("all", TICKER)))
    clock.now += 5
    acme = [(a.severity, e) for a, e in evaluator.tick() if a.id == alert.id]
    assert acme == [("critical", "escalated")]
    # The acknowledgement was of the warning: re-notification resumes for the critical alert.
    clock.now += 65
    assert [e for a, e in evaluator.tick() if a.id == alert.id] == ["sustained"]
