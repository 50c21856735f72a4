"""The alert lifecycle, as plain data: pending, firing, resolve, cool-down, re-notify."""

from __future__ import annotations

from alerting.lifecycle import ScopeState, step
from alerting.rules.base import Severity, Verdict
from alerting.rules.negative_spike import SpikeThresholds

T = SpikeThresholds()  # pending 2 evaluations, cool-down 15 min, re-notify 30 min


def verdict(spiking: bool, holding: bool | None = None, severity: Severity = "warning") -> Verdict:
    return Verdict(
        spiking,
        spiking if holding is None else holding,
        severity if spiking else None,
        "",
        {"share": 0.5, "baseline_share": 0.1, "ratio": 5.0, "z": 4.0},
    )


def run(verdicts: list[Verdict], t: SpikeThresholds = T, every: float = 5.0) -> list[str | None]:
    state, events = ScopeState(), list[str | None]()
    for i, v in enumerate(verdicts):
        state, event = step(state, v, 1000.0 + i * every, t, new_id=f"a{i}")
        events.append(event)
    return events


def test_a_spike_fires_after_the_pending_period_and_resolves_with_hysteresis() -> None:
    events = run(
        [
            verdict(True),
            verdict(True),
            verdict(True),
            verdict(False, holding=True),  # below the rule, above the resolve line
            verdict(False, holding=False),
        ]
    )
    assert events == ["pending", "fired", None, None, "resolved"]


def test_a_blip_shorter_than_the_pending_period_never_fires() -> None:
    assert run([verdict(True), verdict(False), verdict(True), verdict(False)]) == [
        "pending",
        "dropped",
        "pending",
        "dropped",
    ]


def test_cooldown_after_resolving_and_renotify_while_sustained() -> None:
    t = SpikeThresholds(pending_evaluations=1, cooldown_s=60, renotify_s=60)
    events = run(
        [verdict(True)] + [verdict(True)] * 13 + [verdict(False)] + [verdict(True)] * 14, t
    )
    assert events[0] == "fired"
    assert events[1:14].count("sustained") == 1  # 65 s of spike → one re-notification at 60 s
    assert events[14] == "resolved"
    assert "fired" not in events[15:26]  # the 60 s cool-down
    assert "fired" in events[26:]


def test_turning_critical_is_announced_at_once() -> None:
    events = run([verdict(True), verdict(True), verdict(True, severity="critical")])
    assert events == ["pending", "fired", "escalated"]


def test_an_acknowledged_alert_is_not_renotified_but_its_escalation_is() -> None:
    t = SpikeThresholds(pending_evaluations=1, renotify_s=60)
    state, _ = step(ScopeState(), verdict(True), 1000.0, t, new_id="a")
    events = []
    for i in range(1, 40):  # three re-notify intervals, acknowledged
        state, event = step(state, verdict(True), 1000.0 + i * 5, t, new_id="a", acknowledged=True)
        events.append(event)
    assert events == [None] * 39
    state, event = step(state, verdict(True, severity="critical"), 1200.0, t, new_id="a",
                        acknowledged=True)  # fmt: skip
    assert event == "escalated"
    # Unacknowledged (or escalated past the acknowledgement), re-notification resumes.
    state, event = step(state, verdict(True, severity="critical"), 1260.0, t, new_id="a")
    assert event == "sustained"
