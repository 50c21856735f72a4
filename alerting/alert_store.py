"""Where alerts and the evaluator's per-scope states live: the AlertStore interface, Redis
(so a restart neither loses nor repeats an alert) and an in-memory fake."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Protocol

import orjson
import redis

from alerting.lifecycle import ScopeState
from alerting.records import Alert
from streaming import keys


class AlertStore(Protocol):
    """Alerts by id, newest first by start, and the evaluator's state of each scope."""

    def save(self, alert: Alert) -> None:
        """Store or update an alert, keeping an acknowledgement already stored."""

    def delete(self, alert_id: str) -> None:
        """Forget an alert (a pending one that never fired)."""

    def get(self, alert_id: str) -> Alert | None:
        """One alert, or None."""

    def recent(self, since: datetime | None = None, limit: int = 1000) -> list[Alert]:
        """Alerts started since ``since``, newest first."""

    def states(self) -> dict[str, ScopeState]:
        """The evaluator's state of every scope it has seen spike."""

    def save_states(self, states: dict[str, ScopeState]) -> None:
        """Store the states that are not idle-and-calm; drop the others."""


def _keep_ack(new: Alert, stored: Alert | None) -> Alert:
    """The evaluator writes back copies it read before an analyst acknowledged: keep the ack."""
    if stored is None or new.acked_by is not None or stored.acked_by is None:
        return new
    return new.model_copy(update={"acked_by": stored.acked_by, "acked_at": stored.acked_at})


class RedisAlertStore:
    """Alerts and scope states in Redis under one namespace (``prefix``)."""

    def __init__(self, client: redis.Redis, prefix: str) -> None:
        self.client = client
        self.prefix = prefix

    def save(self, alert: Alert) -> None:
        """Store (or update) an alert. An acknowledgement already stored is kept: the evaluator
        writes back copies it read before an analyst acknowledged (optimistic, WATCHed)."""
        key = keys.alert_key(alert.id, self.prefix)

        def write(pipe: redis.client.Pipeline) -> None:
            raw = pipe.get(key)
            final = _keep_ack(alert, Alert.model_validate_json(raw) if raw else None)
            pipe.multi()
            pipe.set(key, final.model_dump_json())
            pipe.zadd(keys.alerts_key(self.prefix), {final.id: final.started_at.timestamp()})

        self.client.transaction(write, key)

    def delete(self, alert_id: str) -> None:
        """Forget an alert (a pending one that never fired)."""
        pipe = self.client.pipeline(transaction=True)
        pipe.delete(keys.alert_key(alert_id, self.prefix))
        pipe.zrem(keys.alerts_key(self.prefix), alert_id)
        pipe.execute()

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

    def save_states(self, states: dict[str, ScopeState]) -> None:
        """Store the states that are not idle-and-calm; drop the others."""
        key = keys.alert_states_key(self.prefix)
        keep = {s: orjson.dumps(asdict(st)) for s, st in states.items() if st != ScopeState()}
        pipe = self.client.pipeline(transaction=True)
        pipe.delete(key)
        if keep:
            pipe.hset(key, mapping=keep)  # type: ignore[arg-type]
        pipe.execute()


class MemoryAlertStore:
    """The same contract in memory: the fake for unit tests and the backtest's store."""

    def __init__(self) -> None:
        self.alerts: dict[str, Alert] = {}
        self._states: dict[str, ScopeState] = {}

    def save(self, alert: Alert) -> None:
        """Store or update, keeping an acknowledgement already stored."""
        self.alerts[alert.id] = _keep_ack(alert, self.alerts.get(alert.id))

    def delete(self, alert_id: str) -> None:
        """Forget an alert."""
        self.alerts.pop(alert_id, None)

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

    def save_states(self, states: dict[str, ScopeState]) -> None:
        """Keep the states that are not idle-and-calm."""
        self._states = {s: st for s, st in states.items() if st != ScopeState()}
