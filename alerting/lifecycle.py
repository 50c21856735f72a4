"""The alert lifecycle per scope, as a pure state machine: pending → firing → resolved.

A spike must hold for ``pending_evaluations`` consecutive evaluations before it fires; a firing
alert is re-notified every ``renotify_s`` while it lasts and is not acknowledged (and at once
when it turns critical, acknowledged or not);
it resolves only when the rule's resolve thresholds are no longer met (hysteresis); after
resolving, the scope stays quiet for ``cooldown_s``. No I/O: the evaluator stores the state.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

from alerting.rules.base import RuleThresholds, Severity, Verdict

Event = Literal["pending", "fired", "escalated", "sustained", "resolved", "dropped"]


@dataclass(frozen=True)
class ScopeState:
    """What the evaluator remembers about one scope between evaluations."""

    alert_id: str | None = None
    phase: Literal["idle", "pending", "firing"] = "idle"
    streak: int = 0
    severity: Severity | None = None
    last_notified_s: float = 0.0
    cooldown_until_s: float = 0.0


def step(
    state: ScopeState,
    verdict: Verdict,
    now_s: float,
    t: RuleThresholds,
    new_id: str,
    *,
    acknowledged: bool = False,
) -> tuple[ScopeState, Event | None]:
    """The next state and what happened (an event the notifiers hear about, or None);
    ``acknowledged``: an analyst's acknowledgement holds for the firing alert."""
    if state.phase == "firing":
        return _firing(state, verdict, now_s, t, acknowledged)
    if not verdict.spiking or now_s < state.cooldown_until_s:
        if state.phase == "pending":
            return replace(state, phase="idle", streak=0, alert_id=None, severity=None), "dropped"
        return (state if state.streak == 0 else replace(state, streak=0)), None
    streak = state.streak + 1
    alert_id = state.alert_id or new_id
    if streak >= t.pending_evaluations:
        fired = ScopeState(alert_id, "firing", streak, verdict.severity, now_s, 0.0)
        return fired, "fired"
    return replace(
        state, phase="pending", streak=streak, alert_id=alert_id, severity=verdict.severity
    ), "pending"


def _firing(
    state: ScopeState, verdict: Verdict, now_s: float, t: RuleThresholds, acknowledged: bool
) -> tuple[ScopeState, Event | None]:
    if not verdict.holding:
        return ScopeState(cooldown_until_s=now_s + t.cooldown_s), "resolved"
    if verdict.severity == "critical" and state.severity != "critical":
        return replace(state, severity="critical", last_notified_s=now_s), "escalated"
    if acknowledged:
        return state, None
    if now_s - state.last_notified_s >= t.renotify_s:
        return replace(state, last_notified_s=now_s), "sustained"
    return state, None
