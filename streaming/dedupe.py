"""Which documents were scored already, and which story a near-duplicate repeats.

``seen`` skips a document id that was scored within the TTL (a replay or a redelivery is not
scored twice); ids are marked only after their scored record was acknowledged by Kafka, so a crash
in between means scoring again, never losing. ``first_of`` names, per fingerprint, the first
document that carried it; it shares its Redis key with the window store, so ``duplicate_of`` and
the windows' ``unique`` counts always agree.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from typing import Protocol

import redis

from streaming import keys


class Deduper(Protocol):
    """Scored-id memory and first occurrences of fingerprints."""

    def seen(self, ids: Iterable[str]) -> set[str]:
        """The ids among ``ids`` scored within the TTL."""

    def mark(self, ids: Iterable[str]) -> None:
        """Remember ``ids`` as scored."""

    def first_of(self, fingerprints: Mapping[str, str]) -> dict[str, str]:
        """For each doc id → fingerprint: the id of the first document with that fingerprint."""


class RedisDeduper:
    """Both memories in Redis, one round trip per call."""

    def __init__(self, client: redis.Redis, ttl_s: int, prefix: str) -> None:
        self.client = client
        self.ttl_s = ttl_s
        self.prefix = prefix

    def seen(self, ids: Iterable[str]) -> set[str]:
        """Ids whose scored marker exists."""
        ids = list(ids)
        if not ids or self.ttl_s == 0:
            return set()
        pipe = self.client.pipeline(transaction=False)
        for doc_id in ids:
            pipe.exists(keys.scored_key(doc_id, self.prefix))
        return {doc_id for doc_id, n in zip(ids, pipe.execute(), strict=True) if n}

    def mark(self, ids: Iterable[str]) -> None:
        """Set the scored markers with the TTL."""
        if self.ttl_s == 0:
            return
        pipe = self.client.pipeline(transaction=False)
        for doc_id in ids:
            pipe.set(keys.scored_key(doc_id, self.prefix), 1, ex=self.ttl_s)
        pipe.execute()

    def first_of(self, fingerprints: Mapping[str, str]) -> dict[str, str]:
        """SET NX GET per fingerprint: the stored id wins, or this one becomes the first."""
        pipe = self.client.pipeline(transaction=False)
        ttl = max(self.ttl_s, 3600)
        for doc_id, fp in fingerprints.items():
            pipe.set(keys.fingerprint_key(fp, self.prefix), doc_id, nx=True, ex=ttl, get=True)
        out = {}
        for doc_id, old in zip(fingerprints, pipe.execute(), strict=True):
            out[doc_id] = doc_id if old is None else _text(old)
        return out


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


class MemoryDeduper:
    """The same in a dict (unit tests, and runs without Redis)."""

    def __init__(self, ttl_s: int = 3600) -> None:
        self.ttl_s = ttl_s
        self._scored: dict[str, float] = {}
        self._first: dict[str, str] = {}

    def seen(self, ids: Iterable[str]) -> set[str]:
        """Ids marked within the TTL."""
        now = time.monotonic()
        return {i for i in ids if self._scored.get(i, -1e18) > now - self.ttl_s}

    def mark(self, ids: Iterable[str]) -> None:
        """Mark ``ids`` now."""
        now = time.monotonic()
        self._scored.update(dict.fromkeys(ids, now))

    def first_of(self, fingerprints: Mapping[str, str]) -> dict[str, str]:
        """The first id per fingerprint, in call order."""
        return {i: self._first.setdefault(fp, i) for i, fp in fingerprints.items()}
