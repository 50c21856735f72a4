"""Alerts and the evaluator's per-scope state in Redis, so a restart neither loses nor repeats
an alert."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime

import orjson
import redis

from alerting.lifecycle import ScopeState
from alerting.records import Alert
from streaming import keys


class AlertStore:
    """Reads and writes alerts and scope states."""

    def __init__(self, client: redis.Redis, prefix: str = keys.PREFIX) -> None:
        self.client = client
        self.prefix = prefix

    def save(self, alert: Alert) -> None:
        """Store (or update) an alert. An acknowledgement already stored is kept: the evaluator
        writes back copies it read before an analyst acknowledged (optimistic, WATCHed)."""
        key = keys.alert_key(alert.id, self.prefix)

        def write(pipe: redis.client.Pipeline) -> None:
            final = alert
            raw = pipe.get(key)
            if raw and final.acked_by is None:
                stored = Alert.model_validate_json(raw)
                if stored.acked_by is not None:
                    final = final.model_copy(
                        update={"acked_by": stored.acked_by, "acked_at": stored.acked_at}
                    )
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
