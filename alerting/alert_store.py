"""Where alerts, the evaluator's per-scope states and the notification outbox live: the
AlertStore interface, Redis (so a restart neither loses nor repeats an alert) and an in-memory
fake.

A scope's evaluation is committed as one atomic step (``commit``): its new state, its alert and
the notification of its event, queued in an outbox. A crash before the commit changes nothing
(the next evaluation does the same again); after it, the notification is in the outbox and is
delivered by the notification worker, however often the evaluator restarts. Under a ``Fence``
the commit is refused once another evaluator has taken the lease.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections import deque
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Protocol

import orjson
import redis

from alerting.lease import Fence, Fenced
from alerting.lifecycle import ScopeState
from alerting.records import (
    MAX_ACTIVITY,
    Activity,
    Alert,
    AlertEvent,
    AnalystAction,
    Feedback,
    Verdict,
)
from streaming import keys


@dataclass(frozen=True)
class ScopeChange:
    """What one evaluation of one rule on one scope changes, committed at once."""

    key: str  # the state's key: rule/scope
    state: ScopeState  # the idle-and-calm state is removed rather than stored
    alert: Alert | None = None  # saved (an acknowledgement already stored is kept)
    drop: str | None = None  # the id of an alert to forget (a pending one that never fired)
    event: AlertEvent | None = None  # queued for notification, with the alert as saved
    replaces: str | None = None  # a key the state was stored under before (removed)


@dataclass(frozen=True)
class Notification:
    """An alert event taken from the outbox; ``raw`` names it until it is delivered."""

    alert: Alert
    event: AlertEvent
    raw: str


def payload(alert: Alert, event: AlertEvent) -> bytes:
    """An alert event as JSON: the event and the whole alert. The outbox holds these, and every
    machine-facing notifier sends them."""
    return orjson.dumps({"event": event, "alert": alert.model_dump(mode="json")})


def _notification(raw: str | bytes) -> Notification:
    text = raw.decode() if isinstance(raw, bytes) else raw
    body = orjson.loads(text)
    return Notification(Alert.model_validate(body["alert"]), body["event"], text)


class AlertStore(Protocol):
    """Alerts by id, newest first by start, and the evaluator's state of each scope."""

    def get(self, alert_id: str) -> Alert | None:
        """One alert, or None."""

    def recent(self, since: datetime | None = None, limit: int = 1000) -> list[Alert]:
        """Alerts started since ``since``, newest first."""

    def states(self) -> dict[str, ScopeState]:
        """The evaluator's state of every scope it has seen spike."""

    def commit(self, change: ScopeChange, fence: Fence | None = None) -> None:
        """Store the scope's state, its alert and its notification at once; raise Fenced (and
        change nothing) when ``fence`` is no longer the current epoch."""

    def active(self) -> list[Alert]:
        """The alerts firing now (their scope's state says so)."""

    def acknowledge(self, alert_id: str, by: str, at: datetime) -> Alert | None:
        """Acknowledge the alert as it is stored now (an acknowledgement in force is kept, with
        its first acknowledger), noting it in its activity and the outbox; None if there is no
        such alert."""

    def unacknowledge(self, alert_id: str, by: str, at: datetime) -> Alert | None:
        """End the acknowledgement in force, if any (noted likewise); None: no such alert."""

    def note(self, alert_id: str, by: str, at: datetime, text: str) -> Alert | None:
        """Add a note to the alert's activity (and the outbox); None: no such alert."""

    def judge(
        self, alert_id: str, by: str, at: datetime, verdict: Verdict, note: str | None = None
    ) -> Alert | None:
        """Record a verdict (useful or noise) on the alert (and the outbox); None: no such
        alert."""

    def take_notification(self, timeout_s: float) -> Notification | None:
        """The oldest queued notification, now in flight; None if none came within the wait."""

    def delivered(self, notification: Notification) -> None:
        """A notification in flight has been delivered (to every notifier, or given up)."""

    def requeue_in_flight(self) -> int:
        """Put notifications left in flight (by an evaluator that died) back first in line."""


# What analysts change on an alert; the evaluator never does.
_ANALYST_FIELDS = ("acked_by", "acked_at", "acked_severity", "activity", "feedback")


def _keep_ack(new: Alert, stored: Alert | None) -> Alert:
    """The evaluator writes back copies it read before an analyst acknowledged, unacknowledged
    or noted: what analysts change is always taken from the alert as stored."""
    if stored is None:
        return new
    return new.model_copy(update={name: getattr(stored, name) for name in _ANALYST_FIELDS})


def _logged(alert: Alert, entry: Activity, **changes: object) -> Alert:
    activity = [*alert.activity, entry][-MAX_ACTIVITY:]
    return alert.model_copy(update={**changes, "activity": activity})


def analyst_change(
    alert: Alert, action: AnalystAction, by: str, at: datetime, text: str | None = None
) -> Alert | None:
    """The alert after an analyst's action, or None when it changes nothing (acknowledging an
    alert whose acknowledgement holds, unacknowledging one without)."""
    if action == "acknowledged":
        if alert.acknowledged:
            return None
        entry = Activity(at=at, by=by, action="acknowledged")
        return _logged(alert, entry, acked_by=by, acked_at=at, acked_severity=alert.severity)
    if action == "unacknowledged":
        if alert.acked_by is None:
            return None
        entry = Activity(at=at, by=by, action="unacknowledged")
        return _logged(alert, entry, acked_by=None, acked_at=None, acked_severity=None)
    if action == "judged":
        verdict, _, note = (text or "").partition(": ")
        feedback = Feedback(verdict=verdict, by=by, at=at, note=note or None)
        return _logged(alert, Activity(at=at, by=by, action="judged", text=text), feedback=feedback)
    return _logged(alert, Activity(at=at, by=by, action="note", text=text))


def judged_text(verdict: Verdict, note: str | None) -> str:
    """How a verdict travels as an analyst action's text (and shows in the activity)."""
    return f"{verdict}: {note}" if note else verdict


class AnalystActions(ABC):
    """The analysts' verbs of a store, each one change applied by ``_act`` at once with its
    notification (the verbs are the same for every store; ``_act`` is each store's own)."""

    def acknowledge(self, alert_id: str, by: str, at: datetime) -> Alert | None:
        """Acknowledge unless an acknowledgement holds already (only it changes)."""
        return self._act(alert_id, "acknowledged", by, at)

    def unacknowledge(self, alert_id: str, by: str, at: datetime) -> Alert | None:
        """End the acknowledgement, if any."""
        return self._act(alert_id, "unacknowledged", by, at)

    def note(self, alert_id: str, by: str, at: datetime, text: str) -> Alert | None:
        """Add a note to the alert's activity."""
        return self._act(alert_id, "noted", by, at, text)

    def judge(
        self, alert_id: str, by: str, at: datetime, verdict: Verdict, note: str | None = None
    ) -> Alert | None:
        """Record an analyst's verdict (useful or noise) on the alert."""
        return self._act(alert_id, "judged", by, at, judged_text(verdict, note))

    @abstractmethod
    def _act(
        self, alert_id: str, action: AnalystAction, by: str, at: datetime, text: str | None = None
    ) -> Alert | None:
        """Apply ``analyst_change`` to the stored alert and queue its notification, at once;
        the alert as it is now (None: no such alert)."""


class RedisAlertStore(AnalystActions):
    """Alerts and scope states in Redis under one namespace (``prefix``)."""

    def __init__(self, client: redis.Redis, prefix: str) -> None:
        self.client = client
        self.prefix = prefix

    def get(self, alert_id: str) -> Alert | None:
        """One alert, or None."""
        raw = self.client.get(keys.alert_key(alert_id, self.prefix))
        return Alert.model_validate_json(raw) if raw else None

    def recent(self, since: datetime | None = None, limit: int = 1000) -> list[Alert]:
        """Alerts started since ``since``, newest first."""
        low = since.timestamp() if since else "-inf"
        ids = self.client.zrevrangebyscore(keys.alerts_key(self.prefix), "+inf", low, 0, limit)
        if not ids:
            return []
        raws = self.client.mget([keys.alert_key(str(i), self.prefix) for i in ids])
        return [Alert.model_validate_json(r) for r in raws if r]

    def states(self) -> dict[str, ScopeState]:
        """The evaluator's state of every scope it has seen spike."""
        raw = self.client.hgetall(keys.alert_states_key(self.prefix))
        return {str(k): ScopeState(**orjson.loads(v)) for k, v in raw.items()}

    def commit(self, change: ScopeChange, fence: Fence | None = None) -> None:
        """One MULTI/EXEC, WATCHing the alert and the epoch (retried if either moves)."""
        alert_key = keys.alert_key(change.alert.id, self.prefix) if change.alert else None
        watched = [k for k in (alert_key, fence.key if fence else None) if k]

        def write(pipe: redis.client.Pipeline) -> None:
            if fence is not None and int(pipe.get(fence.key) or 0) != fence.token:
                raise Fenced(f"epoch {fence.token} is no longer current")
            final = None
            if change.alert is not None and alert_key is not None:
                raw = pipe.get(alert_key)
                final = _keep_ack(change.alert, Alert.model_validate_json(raw) if raw else None)
            pipe.multi()
            states = keys.alert_states_key(self.prefix)
            if change.replaces is not None:
                pipe.hdel(states, change.replaces)
            if change.state == ScopeState():
                pipe.hdel(states, change.key)
            else:
                pipe.hset(states, change.key, orjson.dumps(asdict(change.state)))
            if final is not None and alert_key is not None:
                pipe.set(alert_key, final.model_dump_json())
                pipe.zadd(keys.alerts_key(self.prefix), {final.id: final.started_at.timestamp()})
                if change.event is not None:
                    pipe.lpush(keys.alerting_outbox_key(self.prefix), payload(final, change.event))
            if change.drop is not None:
                pipe.delete(keys.alert_key(change.drop, self.prefix))
                pipe.zrem(keys.alerts_key(self.prefix), change.drop)

        self.client.transaction(write, *watched)

    def active(self) -> list[Alert]:
        """The alerts of the scopes whose state is firing."""
        ids = [s.alert_id for s in self.states().values() if s.phase == "firing" and s.alert_id]
        if not ids:
            return []
        raws = self.client.mget([keys.alert_key(i, self.prefix) for i in ids])
        return [a for r in raws if r and (a := Alert.model_validate_json(r)).state == "firing"]

    def _act(
        self, alert_id: str, action: AnalystAction, by: str, at: datetime, text: str | None = None
    ) -> Alert | None:
        """The analyst's change and its notification in one MULTI/EXEC, WATCHing the alert."""
        key = keys.alert_key(alert_id, self.prefix)
        found: Alert | None = None

        def write(pipe: redis.client.Pipeline) -> None:
            nonlocal found
            raw = pipe.get(key)
            found = Alert.model_validate_json(raw) if raw else None
            changed = analyst_change(found, action, by, at, text) if found else None
            pipe.multi()
            if changed is not None:
                found = changed
                pipe.set(key, changed.model_dump_json())
                pipe.lpush(keys.alerting_outbox_key(self.prefix), payload(changed, action))

        self.client.transaction(write, key)
        return found

    def take_notification(self, timeout_s: float) -> Notification | None:
        """Move the oldest queued notification to the in-flight list (waiting up to
        ``timeout_s``; 0: not at all)."""
        outbox, inflight = self._outbox()
        if timeout_s <= 0:
            raw = self.client.lmove(outbox, inflight, "RIGHT", "LEFT")
        else:  # whole seconds, as the client's type has it
            raw = self.client.blmove(
                outbox, inflight, max(1, math.ceil(timeout_s)), "RIGHT", "LEFT"
            )
        return _notification(raw) if raw else None

    def delivered(self, notification: Notification) -> None:
        """Forget a delivered notification."""
        self.client.lrem(self._outbox()[1], 1, notification.raw)

    def requeue_in_flight(self) -> int:
        """Move what is in flight back to the front of the outbox, oldest first in line."""
        outbox, inflight = self._outbox()
        moved = 0
        while self.client.lmove(inflight, outbox, "LEFT", "RIGHT") is not None:
            moved += 1
        return moved

    def _outbox(self) -> tuple[str, str]:
        return keys.alerting_outbox_key(self.prefix), keys.alerting_inflight_key(self.prefix)


class MemoryAlertStore(AnalystActions):
    """The same contract in memory: the fake for unit tests and the backtest's store."""

    def __init__(self) -> None:
        self.alerts: dict[str, Alert] = {}
        self._states: dict[str, ScopeState] = {}
        self.outbox: deque[str] = deque()  # newest left, taken from the right
        self.inflight: deque[str] = deque()
        self.epoch = 0  # a fence with another token is refused

    def get(self, alert_id: str) -> Alert | None:
        """One alert, or None."""
        return self.alerts.get(alert_id)

    def recent(self, since: datetime | None = None, limit: int = 1000) -> list[Alert]:
        """Alerts started since ``since``, newest first."""
        found = [a for a in self.alerts.values() if since is None or a.started_at >= since]
        return sorted(found, key=lambda a: a.started_at, reverse=True)[:limit]

    def states(self) -> dict[str, ScopeState]:
        """A copy of the stored states."""
        return dict(self._states)

    def commit(self, change: ScopeChange, fence: Fence | None = None) -> None:
        """State, alert, notification (the fence is the memory store's own epoch)."""
        if fence is not None and fence.token != self.epoch:
            raise Fenced(f"epoch {fence.token} is no longer current")
        if change.replaces is not None:
            self._states.pop(change.replaces, None)
        if change.state == ScopeState():
            self._states.pop(change.key, None)
        else:
            self._states[change.key] = change.state
        if change.alert is not None:
            final = _keep_ack(change.alert, self.alerts.get(change.alert.id))
            self.alerts[final.id] = final
            if change.event is not None:
                self.outbox.appendleft(payload(final, change.event).decode())
        if change.drop is not None:
            self.alerts.pop(change.drop, None)

    def active(self) -> list[Alert]:
        """The alerts of the scopes whose state is firing."""
        ids = {s.alert_id for s in self._states.values() if s.phase == "firing"}
        return [a for i, a in self.alerts.items() if i in ids and a.state == "firing"]

    def _act(
        self, alert_id: str, action: AnalystAction, by: str, at: datetime, text: str | None = None
    ) -> Alert | None:
        alert = self.alerts.get(alert_id)
        changed = analyst_change(alert, action, by, at, text) if alert else None
        if changed is None:
            return alert
        self.alerts[alert_id] = changed
        self.outbox.appendleft(payload(changed, action).decode())
        return changed

    def take_notification(self, timeout_s: float) -> Notification | None:
        """The oldest queued notification (no waiting in memory)."""
        if not self.outbox:
            return None
        raw = self.outbox.pop()
        self.inflight.appendleft(raw)
        return _notification(raw)

    def delivered(self, notification: Notification) -> None:
        """Forget a delivered notification."""
        self.inflight.remove(notification.raw)

    def requeue_in_flight(self) -> int:
        """Back to the front of the outbox."""
        moved = 0
        while self.inflight:
            self.outbox.append(self.inflight.popleft())
            moved += 1
        return moved
