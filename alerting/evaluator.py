"""The evaluator: every tick, read the windows, run every registered rule per scope, drive each
(rule, scope)'s alert lifecycle, and commit the result with its notification.

State lives in Redis (scope states, alerts, the notification outbox), so a restarted evaluator
continues where the last one stopped: a firing alert stays firing and is not announced again.
Each (rule, scope) is committed at once with its notification (``AlertStore.commit``), which a
notification worker delivers from the outbox: slow or failing notifiers never hold up a tick.
With a lease (``alerting.lease``) one evaluator per namespace is active and writes under its
fencing token; the others stand by and take over when its lease runs out.
"""

from __future__ import annotations

import contextlib
import logging
import math
import threading
import time
import uuid
import zlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import redis

from alerting.alert_store import AlertStore, ScopeChange
from alerting.baselines import same_time_earlier
from alerting.evidence import Evidence, discover_url
from alerting.incidents import incident_of, same_burst, with_member
from alerting.lease import Fence, Fenced, Lease
from alerting.lifecycle import Event, ScopeState, step
from alerting.notifiers import Dispatch
from alerting.records import Alert, AlertEvent, Scope
from alerting.rules.base import Rule, RuleThresholds, Verdict
from alerting.rules.registry import DEFAULT_RULE, REGISTRY
from alerting.threshold_store import ThresholdStore
from alerting.thresholds import ThresholdError, ThresholdSet
from streaming import keys
from streaming.window_store import WindowStore
from streaming.windows import Span, Window, bucket_start, summed

log = logging.getLogger(__name__)


def windows_of(now_s: float, t: RuleThresholds, bucket_s: int) -> tuple[float, float]:
    """End times of the current window (now) and of the baseline (just before the current)."""
    buckets = max(1, math.ceil(t.window_s / bucket_s))
    first = bucket_start(now_s, bucket_s) - (buckets - 1) * bucket_s
    return now_s, first - 1


def state_key(rule: str, scope: str) -> str:
    """Where the state of one rule on one scope is kept (``negative_spike/ticker:ACME``)."""
    return f"{rule}/{scope}"


def parse_state_key(key: str) -> tuple[str, str]:
    """(rule, scope) of a state key; a bare scope is a state stored before rules were plugins."""
    head, sep, rest = key.partition("/")
    if sep and head != "all" and ":" not in head:
        return head, rest
    return DEFAULT_RULE, key


@dataclass(frozen=True)
class Shard:
    """Which of ``count`` evaluators this is: it evaluates the scopes whose name hashes to
    ``index`` (``all`` belongs to shard 0)."""

    index: int
    count: int

    def owns(self, scope: str) -> bool:
        """Whether this shard evaluates ``scope``."""
        if scope == "all":
            return self.index == 0
        return zlib.crc32(scope.encode("utf-8")) % self.count == self.index


@dataclass(frozen=True)
class Observation:
    """One rule on one scope at one evaluation: what it said and what the lifecycle did."""

    rule: str
    scope: str
    event: Event | None
    state: ScopeState
    verdict: Verdict
    current: Window
    baseline: Window
    thresholds: RuleThresholds
    version: int
    now: float


@dataclass(frozen=True)
class TickReport:
    """What one tick did, for the metrics: how long it took, the scopes it evaluated by kind
    (those with documents in their window or an alert state; bounded by
    ``streaming.max_scopes`` per kind), the evaluations that failed."""

    seconds: float
    scopes: dict[str, int]
    failures: int


@dataclass
class _Tick:
    """What one tick works on: its time, the threshold set, the states it updates."""

    at: float
    tset: ThresholdSet
    states: dict[tuple[str, str], ScopeState]
    fence: Fence | None = None
    # The key each state was read under, where it is not today's (stored before rules were
    # plugins): the commit replaces it.
    legacy: dict[tuple[str, str], str] = field(default_factory=dict)
    # The windows read this tick (in bulk, before the rules run), and each scope's thresholds.
    windows: dict[Span, Window] = field(default_factory=dict)
    # Rollup windows read this tick, and per seasonal setting the earlier days it compares with.
    rollups: dict[Span, Window] = field(default_factory=dict)
    seasons: dict[tuple[str, int, int, int], list[float]] = field(default_factory=dict)
    listed: dict[str, dict[str, float]] = field(default_factory=dict)
    limits: dict[tuple[str, str], RuleThresholds] = field(default_factory=dict)
    events: list[tuple[Alert, AlertEvent]] = field(default_factory=list)
    # The firing alerts by id (read when an alert fires: the incidents it may join).
    firing: dict[str, Alert] | None = None


def _figures(baseline: Window, t: RuleThresholds) -> dict[str, float]:
    """An alert's baseline: its counts and how many seconds of history they are (a seasonal
    baseline: the periods of its days together)."""
    return baseline.unique.as_dict() | {"seconds": baseline.span_s or t.baseline_s}


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
        evidence: Evidence | None,
        *,
        bucket_s: int = 60,
        examples: int = 5,
        kibana_url: str = "http://127.0.0.1:5601",
        clock: Callable[[], float] = time.time,
        lease: Lease | None = None,
        shard: Shard | None = None,
        incident_s: float = 300.0,
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
        # None: always active (one process, tests, the backtest).
        self.lease = lease
        self.active = lease is None
        # None: every scope; else only this shard's (and its own lease).
        self.shard = shard
        # Alerts fired within this of an incident's opening join it (alerting.incidents); 0:
        # every alert stands alone.
        self.incident_s = incident_s
        # True: a tick delivers its notifications itself before it returns (tests, backtest,
        # one-off runs); the service sets False and runs a NotificationWorker instead.
        self.inline_delivery = True
        # Called for every notified event (the service counts them for Prometheus).
        self.on_event: Callable[[Alert, AlertEvent], None] = lambda alert, event: None
        # Called after every tick (the service exports its figures to Prometheus).
        self.on_tick: Callable[[TickReport], None] = lambda report: None
        self._stop = threading.Event()
        self.ticks = 0
        # Evaluations of one rule on one scope that failed (bad data or thresholds of its own).
        self.scope_failures = 0

    def scopes(self) -> list[str]:
        """``all``, then every topic, ticker and source seen lately."""
        return ["all"] + [f"{k}:{v}" for k in keys.SCOPE_KINDS[1:] for v in self.windows.scopes(k)]

    def _listed(self, now: _Tick) -> None:
        """Each kind's scopes with documents in the longest window any rule has for the kind
        (one listing per kind and tick), with the time of their newest document."""
        for kind in keys.SCOPE_KINDS[1:]:
            longest = 0
            for name in REGISTRY:
                with contextlib.suppress(ThresholdError, KeyError):  # that rule fails later
                    longest = max(longest, now.tset.of(name).defaults[kind].window_s)
            now.listed[kind] = self.windows.active(kind, now.at - longest)

    def _candidates(self, rule: Rule[Any], now: _Tick) -> list[str]:
        """The scopes ``rule`` looks at this tick: ``all``, those with documents in the rule's
        window for their kind, those it holds a state for, and those with thresholds of their
        own. Any other scope has an empty window and nothing to resolve: it is skipped."""
        mine = now.tset.of(rule.name)
        found = ["all"]
        for kind in keys.SCOPE_KINDS[1:]:
            since = now.at - mine.defaults[kind].window_s
            found += [f"{kind}:{v}" for v, newest in now.listed[kind].items() if newest >= since]
        found += [scope for (name, scope) in now.states if name == rule.name]
        found += list(mine.overrides)
        if self.shard is not None:
            return [scope for scope in dict.fromkeys(found) if self.shard.owns(scope)]
        return list(dict.fromkeys(found))

    def _limits(self, rule: Rule[Any], scope: str, now: _Tick) -> RuleThresholds:
        key = (rule.name, scope)
        found = now.limits.get(key)
        if found is None:
            found = now.limits[key] = now.tset.for_scope(rule.name, scope)
        return found

    def _prefetch(self, rule: Rule[Any], scopes: list[str], now: _Tick) -> None:
        """Read the windows the rule needs on ``scopes`` in bulk: every current window, then
        the baselines of the scopes with enough documents or a state."""
        current = [Span(s, now.at, self._limits(rule, s, now).window_s) for s in scopes]
        self._read(current, now)
        recent: list[Span] = []
        seasonal: list[Span] = []
        for scope, span in zip(scopes, current, strict=True):
            t = self._limits(rule, scope, now)
            held = now.states.get((rule.name, scope), ScopeState()).phase != "idle"
            if held or now.windows[span].stats.total >= t.min_docs:
                for of in (scope, "all"):
                    spans, periods = self._baseline_spans(of, t, now)
                    recent += spans
                    seasonal += periods
        self._read(recent, now)
        self._read_rollups(seasonal, now)

    def _season(self, t: RuleThresholds, now: _Tick) -> list[float]:
        """Where a seasonal baseline's windows end: the same time of day on the earlier days
        of its kind on which the system counted anything then (``all`` has documents); none
        with fewer than ``seasonal_min_days`` of them (the recent baseline is used)."""
        key = (t.timezone, t.seasonal_days, t.seasonal_min_days, t.window_s)
        found = now.seasons.get(key)
        if found is None:
            ends = same_time_earlier(now.at, t.seasonal_days, t.timezone)
            spans = [Span("all", end, t.window_s) for end in ends]
            self._read_rollups(spans, now)
            counted = [span.end_s for span in spans if now.rollups[span].stats.total > 0]
            found = now.seasons[key] = counted if len(counted) >= t.seasonal_min_days else []
        return found

    def _baseline_spans(
        self, scope: str, t: RuleThresholds, now: _Tick
    ) -> tuple[list[Span], list[Span]]:
        """What ``scope``'s baseline reads: a window before the current one (recent), or the
        rollups of the same time on earlier days (seasonal)."""
        if t.baseline == "seasonal" and (ends := self._season(t, now)):
            return [], [Span(scope, end, t.window_s) for end in ends]
        _, base_end = windows_of(now.at, t, self.bucket_s)
        return [Span(scope, base_end, t.baseline_s)], []

    def _baseline(self, scope: str, t: RuleThresholds, now: _Tick) -> Window:
        """``scope``'s baseline for ``t``; a seasonal one holds the seconds it covers."""
        recent, seasonal = self._baseline_spans(scope, t, now)
        if recent:
            return self._window(now, *recent[0])
        self._read_rollups(seasonal, now)
        days = [now.rollups[span] for span in seasonal]
        return summed(days, sum(day.span_s for day in days))

    def _read_rollups(self, spans: list[Span], now: _Tick) -> None:
        wanted = [span for span in dict.fromkeys(spans) if span not in now.rollups]
        if wanted:
            now.rollups.update(zip(wanted, self.windows.rollups(wanted), strict=True))

    def _quiet(self, rule: Rule[Any], scope: str, now: _Tick) -> bool:
        """No state and too few documents to fire: nothing to do (the common case, checked
        before the full evaluation)."""
        if (rule.name, scope) in now.states:
            return False
        t = now.limits.get((rule.name, scope))
        if t is None:
            return False
        current = now.windows.get(Span(scope, now.at, t.window_s))
        return current is not None and current.stats.total < t.min_docs

    def _read(self, spans: list[Span], now: _Tick) -> None:
        wanted = [span for span in dict.fromkeys(spans) if span not in now.windows]
        now.windows.update(zip(wanted, self.windows.windows(wanted), strict=True))

    def _window(self, now: _Tick, scope: str, end_s: float, window_s: int) -> Window:
        """A window read this tick, or read now."""
        span = Span(scope, end_s, window_s)
        if span not in now.windows:
            self._read([span], now)
        return now.windows[span]

    def _verdict(
        self, rule: Rule[Any], scope: str, t: RuleThresholds, now: _Tick, current: Window
    ) -> tuple[Verdict, Window]:
        """The rule's verdict for one scope, with its baseline window; a scope other than
        ``all`` gets the market-wide baseline too (for when its own is too small)."""
        baseline = self._baseline(scope, t, now)
        market = None if scope == "all" else self._baseline("all", t, now)
        return rule.evaluate(current, baseline, t, market), baseline

    def tick(self, fence: Fence | None = None) -> list[tuple[Alert, AlertEvent]]:
        """Evaluate every rule on every live scope once, committing each under ``fence``;
        return the events queued for notification (delivered before returning if
        ``inline_delivery``). Raises Fenced, having committed nothing more, once another
        evaluator holds the lease."""
        began, failures = time.monotonic(), self.scope_failures
        now = _Tick(self.clock(), self.thresholds.current(), {}, fence)
        for stored_key, state in self.alerts.states().items():
            rule_scope = parse_state_key(stored_key)
            now.states[rule_scope] = state
            if stored_key != state_key(*rule_scope):
                now.legacy[rule_scope] = stored_key
        evaluated: set[str] = set()
        self._listed(now)
        for rule in list(REGISTRY.values()):
            try:
                scopes = self._candidates(rule, now)
                self._prefetch(rule, scopes, now)
            except (redis.RedisError, ConnectionError, TimeoutError):
                raise
            except Exception:
                self.scope_failures += 1
                log.exception("listing the scopes of rule %s failed; other rules go on", rule.name)
                continue
            evaluated.update(scopes)
            for scope in scopes:
                if self._quiet(rule, scope, now):
                    continue
                self._isolated(rule, scope, now)
        self.ticks += 1
        kinds = Counter(scope.partition(":")[0] for scope in evaluated)
        self.on_tick(TickReport(time.monotonic() - began, dict(kinds),
                                self.scope_failures - failures))  # fmt: skip
        if self.inline_delivery:
            self.deliver_pending()
        return now.events

    @property
    def delivers(self) -> bool:
        """Whether this evaluator (when active) delivers notifications: shard 0's does them
        all, so that one notification worker owns the outbox."""
        return self.shard is None or self.shard.index == 0

    def deliver_pending(self) -> int:
        """Deliver what the outbox holds now, oldest first; return how many."""
        done = 0
        while (notification := self.alerts.take_notification(0)) is not None:
            self.dispatcher.dispatch(notification.alert, notification.event)
            self.alerts.delivered(notification)
            done += 1
        return done

    def _isolated(self, rule: Rule[Any], scope: str, now: _Tick) -> None:
        """``_step``, where a failure of this one rule on this one scope is logged and counted
        and the tick goes on; a backing service that is down, or a lost lease, still fails the
        whole tick."""
        try:
            self._step(rule, scope, now)
        except (redis.RedisError, ConnectionError, TimeoutError, Fenced):
            raise
        except Exception:
            self.scope_failures += 1
            log.exception("evaluating rule %s on %s failed; other scopes go on", rule.name, scope)

    def _commit(self, now: _Tick, rule: str, scope: str, change: ScopeChange) -> None:
        self.alerts.commit(change, now.fence)
        now.states[(rule, scope)] = change.state
        now.legacy.pop((rule, scope), None)
        if change.alert is not None and now.firing is not None:
            if change.alert.state == "firing":
                now.firing[change.alert.id] = change.alert
            else:
                now.firing.pop(change.alert.id, None)
        if change.alert is not None and change.event is not None:
            now.events.append((change.alert, change.event))
            self.on_event(change.alert, change.event)

    def _step(self, rule: Rule[Any], scope: str, now: _Tick) -> None:
        """One rule on one scope: verdict, lifecycle, the alert; committed with its event."""
        t = self._limits(rule, scope, now)
        key = state_key(rule.name, scope)
        old = now.states.get((rule.name, scope), ScopeState())
        replaces = now.legacy.get((rule.name, scope))
        current = self._window(now, scope, now.at, t.window_s)
        if old.phase == "idle" and current.stats.total < t.min_docs:
            # The shared minimum volume: no rule fires on a tiny window. A cool-down that has
            # run out is forgotten here too, as a full evaluation would.
            if old.cooldown_until_s and old.cooldown_until_s <= now.at:
                calm = ScopeChange(key, ScopeState(), replaces=replaces)
                self._commit(now, rule.name, scope, calm)
            return
        verdict, baseline = self._verdict(rule, scope, t, now, current)
        new_id = old.alert_id or (uuid.uuid4().hex[:16] if verdict.spiking else "")
        stored = self.alerts.get(old.alert_id) if old.alert_id else None
        acked = stored is not None and stored.acknowledged
        new, event = step(old, verdict, now.at, t, new_id=new_id, acknowledged=acked)
        keep = new.phase != "idle" or new.cooldown_until_s > now.at
        new = new if keep else ScopeState()
        alert_id = new.alert_id or old.alert_id
        if alert_id is None:
            if new != old or replaces:
                self._commit(now, rule.name, scope, ScopeChange(key, new, replaces=replaces))
            return
        seen = Observation(
            rule.name, scope, event, new, verdict, current, baseline, t, now.tset.version, now.at
        )
        alert, drop = self._update(alert_id, seen, stored)
        if alert is not None and event == "fired" and self.incident_s > 0:
            alert = self._group(alert, now)
        notify = event if event in ("fired", "escalated", "sustained", "resolved") else None
        self._commit(now, rule.name, scope, ScopeChange(
            key, new, alert, drop, notify if alert is not None else None, replaces))  # fmt: skip

    def _update(
        self, alert_id: str, seen: Observation, stored: Alert | None
    ) -> tuple[Alert | None, str | None]:
        """The scope's alert after this evaluation (to save; ``stored``: as read this tick), or
        the id of one to forget."""
        if seen.event == "dropped":
            return None, alert_id
        alert = stored if stored is not None and stored.id == alert_id else None
        if alert is None:
            if seen.event not in ("pending", "fired"):
                return None, None
            alert = Alert(
                id=alert_id,
                rule=seen.rule,
                scope=Scope.parse(seen.scope),
                severity=seen.verdict.severity or "warning",
                state="pending",
                started_at=_utc(seen.now),
                updated_at=_utc(seen.now),
                current=seen.current.unique.as_dict(),
                baseline=_figures(seen.baseline, seen.thresholds),
                thresholds_version=seen.version,
            )
        changes: dict[str, object] = {
            "updated_at": _utc(seen.now),
            "current": seen.current.unique.as_dict(),
            "baseline": _figures(seen.baseline, seen.thresholds),
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
        return alert.model_copy(update=changes), None

    def _firing(self, now: _Tick) -> dict[str, Alert]:
        if now.firing is None:
            ids = [s.alert_id for s in now.states.values() if s.phase == "firing" and s.alert_id]
            found = (self.alerts.get(alert_id) for alert_id in ids)
            now.firing = {a.id: a for a in found if a is not None and a.state == "firing"}
        return now.firing

    def _same_burst(self, alert: Alert, other: Alert, now: _Tick) -> bool:
        """Whether the two alerts' scopes hold largely the same documents in ``alert``'s
        window (asked of the evidence: Elasticsearch)."""
        if self.evidence is None:
            return False
        t = now.limits.get((alert.rule, alert.scope.name))
        window_s = t.window_s if t is not None else 600
        counts = self.evidence.overlap(alert.scope, other.scope, _utc(now.at - window_s),
                                       _utc(now.at))  # fmt: skip
        return same_burst(*counts)

    def _group(self, alert: Alert, now: _Tick) -> Alert:
        """The alert that fires now, in its incident: one it joins (whose lead then lists it,
        committed at once), or one of its own."""
        firing = self._firing(now)
        incident = incident_of(alert, firing.values(), _utc(now.at), self.incident_s,
                               lambda one, other: self._same_burst(one, other, now))  # fmt: skip
        alert = alert.model_copy(update={"incident": incident or alert.id})
        lead = firing.get(incident) if incident is not None else None
        lead_state = now.states.get((lead.rule, lead.scope.name)) if lead is not None else None
        # Only this evaluator writes its own scopes' states: a lead of another shard keeps its
        # list (the member still names the incident).
        ours = lead is not None and (self.shard is None or self.shard.owns(lead.scope.name))
        if lead is not None and lead_state is not None and ours:
            lead = with_member(lead, alert)
            key = state_key(lead.rule, lead.scope.name)
            # "grouped": the page and the history show the lead's list (nobody is paged).
            self.alerts.commit(ScopeChange(key, lead_state, lead, event="grouped"), now.fence)
            firing[lead.id] = lead
        firing[alert.id] = alert
        return alert

    def _evidence(self, scope: Scope, t: RuleThresholds, now: float) -> dict[str, object]:
        start, end = _utc(now - t.window_s), _utc(now)
        out: dict[str, object] = {
            "kibana_url": discover_url(self.kibana_url, scope, start - timedelta(minutes=5), end)
        }
        if self.evidence is not None:
            examples, version = self.evidence.examples(scope, start, end, self.examples)
            out |= {"examples": examples, "model_version": version}
        return out

    def _hold(self) -> Fence | None:
        """Take or renew the lease; note whether this evaluator is active now."""
        if self.lease is None:
            return None
        fence = self.lease.hold()
        if fence is not None and not self.active and self.delivers:
            moved = self.alerts.requeue_in_flight()  # what a dead predecessor left in flight
            if moved:
                log.warning("requeued %d notification(s) left in flight", moved)
        self.active = fence is not None
        return fence

    def _renew(self, every_s: float) -> None:
        """Keep the lease while a long tick runs (the tick loop renews it too)."""
        while not self._stop.wait(every_s):
            if self.active:
                try:
                    self._hold()
                except redis.RedisError:
                    log.warning("renewing the evaluator lease failed; trying again")

    def run(self, tick_s: float) -> None:
        """Tick every ``tick_s`` seconds until ``stop``; a failed tick is logged and retried.

        With a lease: tick only while holding it (renewed every third of its time to live);
        else stand by and look for it every quarter tick, so a standby takes over within the
        lease's time to live plus a quarter tick of the active one dying.
        """
        if self.lease is not None:
            threading.Thread(target=self._renew, args=(self.lease.ttl_s / 3,),
                             name="evaluator-lease", daemon=True).start()  # fmt: skip
        while not self._stop.is_set():
            began = time.monotonic()
            wait = tick_s
            try:
                fence = self._hold()
                if self.active:
                    self.tick(fence)
                else:
                    wait = max(0.1, tick_s / 4)
            except Fenced:
                log.warning("another evaluator took over; standing by")
                self.active = False
                wait = 0.0
            except Exception:  # Redis or ES down: try again next tick
                log.exception("evaluation failed; retrying next tick")
            self._stop.wait(max(0.0, wait - (time.monotonic() - began)))
        if self.lease is not None:
            try:
                self.lease.release()  # a standby takes over at once
            except redis.RedisError:
                log.warning("could not release the evaluator lease; it runs out by itself")

    def stop(self) -> None:
        """End ``run``."""
        self._stop.set()
