"""The evaluator: every tick, read the windows, run the spike rule per scope, drive each scope's
alert lifecycle, store the result and notify.

State lives in Redis (scope states and alerts), so a restarted evaluator continues where the last
one stopped: a firing alert stays firing and is not announced again.
"""

from __future__ import annotations

import logging
import math
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from alerting.alert_store import AlertStore
from alerting.evidence import EvidenceFinder, discover_url
from alerting.lifecycle import Event, ScopeState, step
from alerting.notifiers import Dispatch
from alerting.records import Alert, Scope
from alerting.rules import SpikeThresholds, Verdict, evaluate
from alerting.threshold_store import ThresholdStore
from streaming import keys
from streaming.window_store import WindowStore
from streaming.windows import Stats, bucket_start

log = logging.getLogger(__name__)


def windows_of(now_s: float, t: SpikeThresholds, bucket_s: int) -> tuple[float, float]:
    """End times of the current window (now) and of the baseline (just before the current)."""
    buckets = max(1, math.ceil(t.window_s / bucket_s))
    first = bucket_start(now_s, bucket_s) - (buckets - 1) * bucket_s
    return now_s, first - 1


@dataclass(frozen=True)
class Observation:
    """One scope at one evaluation: what the rule said and what the lifecycle did."""

    scope: str
    event: Event | None
    state: ScopeState
    verdict: Verdict
    current: Stats
    baseline: Stats
    thresholds: SpikeThresholds
    version: int
    now: float


def _utc(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


class Evaluator:
    """One evaluation per ``tick``; ``run`` ticks every ``tick_s`` in a thread."""

    def __init__(
        self,
        windows: WindowStore,
        thresholds: ThresholdStore,
        alerts: AlertStore,
        dispatcher: Dispatch,
        evidence: EvidenceFinder | None,
        *,
        bucket_s: int = 60,
        examples: int = 5,
        kibana_url: str = "http://127.0.0.1:5601",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.windows = windows
        self.thresholds = thresholds
        self.alerts = alerts
        self.dispatcher = dispatcher
        self.evidence = evidence
        self.bucket_s = bucket_s
        self.examples = examples
        self.kibana_url = kibana_url
        self.clock = clock
        # Called for every notified event (the service counts them for Prometheus).
        self.on_event: Callable[[Alert, Event], None] = lambda alert, event: None
        self._stop = threading.Event()
        self.ticks = 0

    def scopes(self, states: dict[str, ScopeState]) -> list[str]:
        """``all``, every topic, ticker and source seen lately, and every scope with a state."""
        seen = ["all"] + [f"{k}:{v}" for k in keys.SCOPE_KINDS[1:] for v in self.windows.scopes(k)]
        return list(dict.fromkeys([*seen, *states]))

    def verdict(
        self, scope: str, t: SpikeThresholds, now: float, market: dict[tuple[float, int], Stats]
    ) -> tuple[Verdict, Stats, Stats]:
        """The rule's verdict for one scope, with its current and baseline statistics.

        ``market`` caches the market-wide baselines of this tick: every scope whose thresholds
        give the same baseline window shares one read of it.
        """
        end, base_end = windows_of(now, t, self.bucket_s)
        current = self.windows.window(scope, end, t.window_s).unique
        baseline = self.windows.window(scope, base_end, t.baseline_s).unique
        if scope == "all":
            return evaluate(current, baseline, t), current, baseline
        key = (base_end, t.baseline_s)
        if key not in market:
            market[key] = self.windows.window("all", base_end, t.baseline_s).unique
        return evaluate(current, baseline, t, market[key]), current, baseline

    def tick(self) -> list[tuple[Alert, Event]]:
        """Evaluate every scope once; return the events that were notified."""
        now = self.clock()
        tset = self.thresholds.current()
        states = self.alerts.states()
        events: list[tuple[Alert, Event]] = []
        market: dict[tuple[float, int], Stats] = {}
        for scope in self.scopes(states):
            t = tset.for_scope(scope)
            verdict, current, baseline = self.verdict(scope, t, now, market)
            old = states.get(scope, ScopeState())
            new, event = step(old, verdict, now, t, new_id=uuid.uuid4().hex[:16])
            states[scope] = (
                new if (new.phase != "idle" or new.cooldown_until_s > now) else ScopeState()
            )
            alert_id = new.alert_id or old.alert_id
            if alert_id is None:
                continue
            seen = Observation(scope, event, new, verdict, current, baseline, t, tset.version, now)
            alert = self._update(alert_id, seen)
            if alert is not None and event in ("fired", "escalated", "sustained", "resolved"):
                self.dispatcher.dispatch(alert, event)
                self.on_event(alert, event)
                events.append((alert, event))
        self.alerts.save_states(states)
        self.ticks += 1
        return events

    def _update(self, alert_id: str, seen: Observation) -> Alert | None:
        """Create, update or drop the scope's alert after this evaluation."""
        if seen.event == "dropped":
            self.alerts.delete(alert_id)
            return None
        alert = self.alerts.get(alert_id)
        if alert is None:
            if seen.event not in ("pending", "fired"):
                return None
            alert = Alert(
                id=alert_id,
                scope=Scope.parse(seen.scope),
                severity=seen.verdict.severity or "warning",
                state="pending",
                started_at=_utc(seen.now),
                updated_at=_utc(seen.now),
                current=seen.current.as_dict(),
                baseline=seen.baseline.as_dict(),
                thresholds_version=seen.version,
            )
        changes: dict[str, object] = {
            "updated_at": _utc(seen.now),
            "current": seen.current.as_dict(),
            "baseline": seen.baseline.as_dict(),
            "verdict": seen.verdict.as_dict(),
            "thresholds_version": seen.version,
        }
        if seen.state.severity is not None and alert.state != "resolved":
            changes["severity"] = seen.state.severity
        if seen.event == "fired":
            changes |= {"state": "firing", "fired_at": _utc(seen.now)}
        elif seen.event == "resolved":
            changes |= {"state": "resolved", "resolved_at": _utc(seen.now)}
        if seen.event in ("fired", "escalated", "sustained"):
            changes |= self._evidence(alert.scope, seen.thresholds, seen.now)
            changes["notifications"] = alert.notifications + 1
        elif seen.event == "resolved":
            changes["notifications"] = alert.notifications + 1
        updated = alert.model_copy(update=changes)
        self.alerts.save(updated)
        return updated

    def _evidence(self, scope: Scope, t: SpikeThresholds, now: float) -> dict[str, object]:
        start, end = _utc(now - t.window_s), _utc(now)
        out: dict[str, object] = {
            "kibana_url": discover_url(self.kibana_url, scope, start - timedelta(minutes=5), end)
        }
        if self.evidence is not None:
            examples, version = self.evidence.examples(scope, start, end, self.examples)
            out |= {"examples": examples, "model_version": version}
        return out

    def run(self, tick_s: float) -> None:
        """Tick every ``tick_s`` seconds until ``stop``; a failed tick is logged and retried."""
        while not self._stop.is_set():
            began = time.monotonic()
            try:
                self.tick()
            except Exception:  # Redis or ES down: try again next tick
                log.exception("evaluation failed; retrying next tick")
            self._stop.wait(max(0.0, tick_s - (time.monotonic() - began)))

    def stop(self) -> None:
        """End ``run``."""
        self._stop.set()
