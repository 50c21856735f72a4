"""Where threshold sets live: the ThresholdStore interface, Redis (versions and audit shared by
every evaluator and API process) and an in-memory fake."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Protocol

import orjson
import redis

from alerting.rules.registry import DEFAULT_RULE
from alerting.thresholds import ThresholdSet, apply_change, initial_set
from streaming import keys


def _now() -> str:
    return datetime.now(UTC).isoformat()


def history_entry(old: ThresholdSet, new: ThresholdSet, by: str, reason: str) -> dict[str, Any]:
    """The audit record of one change: version, when, who, why, the old and the new set."""
    return {
        "version": new.version,
        "at": _now(),
        "by": by,
        "reason": reason,
        "old": old.model_dump(mode="json"),
        "new": new.model_dump(mode="json"),
    }


class ThresholdStore(Protocol):
    """The current threshold set and its change history."""

    def current(self) -> ThresholdSet:
        """The stored set, or version 1 from the defaults file."""

    def change(
        self,
        defaults: dict[str, Any] | None,
        overrides: dict[str, Any] | None,
        *,
        by: str,
        reason: str,
        rule: str = DEFAULT_RULE,
    ) -> ThresholdSet:
        """Apply and store a change of ``rule`` as a new version; record it in the history."""

    def history(self, limit: int = 100) -> list[dict[str, Any]]:
        """The latest changes first."""


class RedisThresholdStore:
    """The current set and the change history in Redis (optimistic concurrency on writes)."""

    def __init__(self, client: redis.Redis, prefix: str) -> None:
        self.client = client
        self.key = keys.thresholds_key(prefix)
        self.history_key = keys.thresholds_history_key(prefix)

    def current(self) -> ThresholdSet:
        """The stored set, or version 1 from the defaults file (stored on first read)."""
        raw = self.client.get(self.key)
        if raw is not None:
            return ThresholdSet.model_validate_json(raw)
        first = initial_set()
        self.client.set(self.key, first.model_dump_json(), nx=True)
        return ThresholdSet.model_validate_json(
            self.client.get(self.key) or first.model_dump_json()
        )

    def change(
        self,
        defaults: dict[str, Any] | None,
        overrides: dict[str, Any] | None,
        *,
        by: str,
        reason: str,
        rule: str = DEFAULT_RULE,
    ) -> ThresholdSet:
        """Apply and store a change as a new version; record it in the history."""
        self.current()  # make sure version 1 exists
        with self.client.pipeline() as pipe:
            while True:
                try:
                    pipe.watch(self.key)  # type: ignore[no-untyped-call]
                    old = ThresholdSet.model_validate_json(pipe.get(self.key) or b"")
                    new = apply_change(old, defaults, overrides, rule)
                    entry = history_entry(old, new, by, reason)
                    pipe.multi()
                    pipe.set(self.key, new.model_dump_json())
                    pipe.lpush(self.history_key, orjson.dumps(entry))
                    pipe.execute()
                    return new
                except redis.WatchError:
                    continue

    def history(self, limit: int = 100) -> list[dict[str, Any]]:
        """The latest changes first."""
        return [orjson.loads(e) for e in self.client.lrange(self.history_key, 0, limit - 1)]


class MemoryThresholdStore:
    """The same contract in memory: the fake for unit tests and the backtest's fixed set."""

    def __init__(self, initial: ThresholdSet | None = None) -> None:
        self.set = initial or initial_set()
        self.changes: list[dict[str, Any]] = []

    def current(self) -> ThresholdSet:
        """The set held."""
        return self.set

    def change(
        self,
        defaults: dict[str, Any] | None,
        overrides: dict[str, Any] | None,
        *,
        by: str,
        reason: str,
        rule: str = DEFAULT_RULE,
    ) -> ThresholdSet:
        """Apply a change as a new version and record it."""
        new = apply_change(self.set, defaults, overrides, rule)
        self.changes.insert(0, history_entry(self.set, new, by, reason))
        self.set = new
        return new

    def history(self, limit: int = 100) -> list[dict[str, Any]]:
        """The latest changes first."""
        return self.changes[:limit]
