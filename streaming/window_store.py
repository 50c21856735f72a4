"""Where window buckets live: the WindowStore interface, Redis, and an in-memory fake.

Counting is idempotent: a document's scopes are remembered in a seen-set (with the retention as
TTL) and the increments happen in the same atomic step, so a replayed or redelivered document
changes nothing.

The evaluator reads every scope's windows each tick with ``windows``: in the Redis store, one
pipelined round trip per few thousand buckets, and only the buckets that changed since the last
tick (``streaming.window_sums``).
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import redis

from streaming import keys
from streaming.records import ScoredDoc
from streaming.window_sums import Plan, WindowSums
from streaming.windows import (
    UNIQUE_PREFIX,
    Span,
    Window,
    bucket_start,
    bucket_starts,
    covering,
    newest_settled,
    summed,
    window_of,
)

# Buckets read per pipelined round trip by ``windows``.
READ_CHUNK = 5000
# How long the late set remembers a late count (the evaluator reads it every tick).
LATE_KEEP_S = 3600
# The late set is read again this far back (clocks of the sink and evaluator hosts differ a
# little; a late count read twice changes nothing).
LATE_OVERLAP_S = 5.0


@dataclass(frozen=True)
class Countable:
    """What counting needs from a scored document."""

    id: str
    fingerprint: str
    label: str
    score: float
    event_s: float
    scopes: tuple[str, ...]

    @classmethod
    def of(cls, doc: ScoredDoc) -> Countable:
        """The scopes of a document: all, its topic, its source and each of its tickers."""
        scopes = [
            keys.scope_name("all"),
            keys.scope_name("topic", doc.topic.label),
            keys.scope_name("source", doc.source),
            *(keys.scope_name("ticker", t) for t in doc.tickers),
        ]
        # The first document of a story counts as unique (without stories: of a fingerprint).
        story = f"story:{doc.story_id}" if doc.story_id else doc.fingerprint
        return cls(doc.id, story, doc.sentiment.label, doc.sentiment.score,
                   doc.published_at.timestamp(), tuple(dict.fromkeys(scopes)))  # fmt: skip


class WindowStore(Protocol):
    """Buckets per scope; ``add`` is idempotent per document and scope."""

    def add(self, docs: Sequence[Countable]) -> int:
        """Count documents; return how many (document, scope) pairs were new."""

    def window(self, scope: str, end_s: float, window_s: int) -> Window:
        """The buckets of ``scope`` in the window ending at ``end_s``."""

    def scopes(self, kind: str) -> list[str]:
        """Scope values of a kind seen within the retention."""

    def active(self, kind: str, since_s: float) -> dict[str, float]:
        """Scope values of a kind with a document dated at or after ``since_s``, each with the
        event time of its newest document (or a bound above it), most recent first."""

    def windows(self, spans: Sequence[Span]) -> list[Window]:
        """The windows of many scopes at once, in the order of ``spans``; a window may come as
        one bucket holding its sums."""

    def rollups(self, spans: Sequence[Span]) -> list[Window]:
        """Per span, the rollup periods of its scope that overlap it, summed into one bucket
        with the seconds they cover as ``span_s`` (empty past the rollup retention)."""


def each_window(store: WindowStore, spans: Iterable[Span]) -> list[Window]:
    """``windows`` as one ``window`` call per span (stores where a read is cheap)."""
    return [store.window(*span) for span in spans]


# KEYS: seen set, fingerprint key, late set, one bucket hash per scope, then (with rollups) one
# rollup hash per scope. ARGV: doc id, ttl, label, score, when (if the bucket has settled, else
# ''), the bucket start, the number of scopes, the rollup ttl (0: no rollups), the scope names.
_COUNT = """
local first = redis.call('SET', KEYS[2], ARGV[1], 'NX', 'EX', ARGV[2])
local unique = first and true or (redis.call('GET', KEYS[2]) == ARGV[1])
local n = tonumber(ARGV[7])
local rollup_ttl = tonumber(ARGV[8])
local function bump(b, ttl)
  redis.call('HINCRBY', b, 'total', 1)
  redis.call('HINCRBY', b, ARGV[3], 1)
  redis.call('HINCRBYFLOAT', b, 'score_sum', ARGV[4])
  if unique then
    redis.call('HINCRBY', b, 'u_total', 1)
    redis.call('HINCRBY', b, 'u_' .. ARGV[3], 1)
    redis.call('HINCRBYFLOAT', b, 'u_score_sum', ARGV[4])
  end
  redis.call('EXPIRE', b, ttl)
end
local counted = 0
for i = 1, n do
  local scope = ARGV[8 + i]
  if redis.call('SADD', KEYS[1], scope) == 1 then
    if ARGV[5] ~= '' then
      redis.call('ZADD', KEYS[3], ARGV[5], ARGV[6] .. ':' .. scope)
    end
    bump(KEYS[3 + i], ARGV[2])
    if rollup_ttl > 0 then
      bump(KEYS[3 + n + i], rollup_ttl)
    end
    counted = counted + 1
  end
end
redis.call('EXPIRE', KEYS[1], ARGV[2])
return counted
"""


class RedisWindowStore:
    """Buckets as Redis hashes, counted by one Lua script per document, pipelined per batch."""

    def __init__(
        self, client: redis.Redis, bucket_s: int = 60, retention_s: int = 48 * 3600,
        *, prefix: str, max_scopes: int | None = None, settle_s: float = 60.0,
        refresh_s: float = 600.0, clock: Callable[[], float] = time.time,
        rollup_s: int = 1800, rollup_retention_s: int = 35 * 86_400,
    ) -> None:  # fmt: skip
        self.client = client
        self.bucket_s = bucket_s
        self.retention_s = retention_s
        self.prefix = prefix
        # Scope values kept per kind, most recently seen first (None: all in the retention).
        self.max_scopes = max_scopes
        # ``windows``: a bucket that ended settle_s ago is kept in running sums, and a document
        # counted into it later is noted in the late set (streaming.window_sums).
        self.settle_s = settle_s
        self.clock = clock
        # Rollups (seasonal baselines): counts per rollup_s, kept rollup_retention_s (0: none).
        self.rollup_s = rollup_s
        self.rollup_retention_s = rollup_retention_s
        self.refresh_s = refresh_s
        # Rollup hashes read lately: (scope, start) → (when read, the hash); read again after
        # refresh_s (a seasonal baseline reads the same earlier days every tick).
        self._rollups: dict[tuple[str, int], tuple[float, Mapping[str, str]]] = {}
        self._late_from: float | None = None
        self._sums = WindowSums(bucket_s, settle_s=settle_s, refresh_s=refresh_s)
        # Per kind, the latest ``active`` listing: its since and each value's newest document.
        self._listed: dict[str, tuple[float, dict[str, float]]] = {}
        self._count = client.register_script(_COUNT)

    def counts(self, doc: Countable, now_s: float) -> bool:
        """Late documents inside the retention are counted; older ones are not."""
        return doc.event_s >= now_s - self.retention_s

    def add(self, docs: Sequence[Countable]) -> int:
        """Count a batch in one round trip."""
        now = time.time()
        pipe = self.client.pipeline(transaction=False)
        counted = [doc for doc in docs if self.counts(doc, now)]
        settled = newest_settled(now, self.bucket_s, self.settle_s)
        late = keys.late_key(self.prefix)
        any_late = False
        for doc in counted:
            start = bucket_start(doc.event_s, self.bucket_s)
            buckets = [keys.bucket_key(s, start, self.prefix) for s in doc.scopes]
            if self.rollup_retention_s:
                period = bucket_start(doc.event_s, self.rollup_s)
                buckets += [keys.rollup_key(s, period, self.prefix) for s in doc.scopes]
            is_late = start <= settled
            any_late = any_late or is_late
            self._count(
                keys=[keys.seen_key(doc.id, self.prefix),
                      keys.fingerprint_key(doc.fingerprint, self.prefix), late, *buckets],
                args=[doc.id, self.retention_s, doc.label, doc.score,
                      repr(now) if is_late else "", start, len(doc.scopes),
                      self.rollup_retention_s, *doc.scopes],
                client=pipe,
            )  # fmt: skip
        if any_late:
            pipe.zremrangebyscore(late, "-inf", now - LATE_KEEP_S)
        kinds: set[str] = set()
        for doc in counted:
            for scope in doc.scopes:
                kind, _, value = scope.partition(":")
                if value:  # GT: a late document does not make its scope look idle
                    pipe.zadd(keys.scopes_key(kind, self.prefix), {value: doc.event_s}, gt=True)
                    kinds.add(kind)
        if self.max_scopes is not None:
            for kind in kinds:  # the longest idle go first
                key = keys.scopes_key(kind, self.prefix)
                pipe.zremrangebyrank(key, 0, -(self.max_scopes + 1))
        results = pipe.execute() if counted else []
        # The first len(counted) results are the scripts'; the rest are the indices'.
        return int(sum(results[: len(counted)]))

    def window(self, scope: str, end_s: float, window_s: int) -> Window:
        """Read the window's buckets in one round trip."""
        starts = bucket_starts(end_s, window_s, self.bucket_s)
        pipe = self.client.pipeline(transaction=False)
        for start in starts:
            pipe.hgetall(keys.bucket_key(scope, start, self.prefix))
        return window_of(starts, pipe.execute())

    def scopes(self, kind: str) -> list[str]:
        """Values of ``kind`` seen within the retention, most recent first."""
        return list(self.active(kind, time.time() - self.retention_s))

    def active(self, kind: str, since_s: float) -> dict[str, float]:
        """Values of ``kind`` with a document dated at or after ``since_s`` and the event time
        of their newest, most recent first (those older than the retention are forgotten)."""
        key = keys.scopes_key(kind, self.prefix)
        pipe = self.client.pipeline(transaction=False)
        pipe.zremrangebyscore(key, "-inf", time.time() - self.retention_s)
        pipe.zrevrangebyscore(key, "+inf", since_s, withscores=True)
        found = {str(v): float(t) for v, t in pipe.execute()[1]}
        self._listed[kind] = (since_s, found)
        return found

    def windows(self, spans: Sequence[Span]) -> list[Window]:
        """Every span's window from one pass of pipelined reads (``streaming.window_sums``);
        each window comes as one bucket holding its sums."""
        now = self.clock()
        late = self._sums.late(self._late_counts())  # before the plans replace any sums
        plans: dict[tuple[str, int, int], Plan] = {}
        of_span: dict[Span, Plan] = {}
        for span in spans:
            if span in of_span:
                continue
            plan = self._sums.plan(span, now, self._newest)
            of_span[span] = plans.setdefault(plan.key, plan)
        wanted = [(p.span.scope, start) for p in plans.values() for start in p.reads()]
        read = self._read(list(dict.fromkeys([*wanted, *late])))
        self._sums.correct(late, read)
        found = {key: self._sums.window(plan, read, now) for key, plan in plans.items()}
        self._sums.sweep(now)
        return [found[of_span[span].key] for span in spans]

    def rollups(self, spans: Sequence[Span]) -> list[Window]:
        """Per span, its scope's rollup periods that overlap it, summed, with the seconds they
        cover as ``span_s``; one pipelined read of those not read within refresh_s."""
        now = time.monotonic()
        self._rollups = {k: v for k, v in self._rollups.items() if v[0] > now - self.refresh_s}
        periods = {span: covering(span.end_s, span.window_s, self.rollup_s) for span in spans}
        wanted = list(dict.fromkeys(
            (span.scope, start) for span, starts in periods.items() for start in starts
            if (span.scope, start) not in self._rollups))  # fmt: skip
        for i in range(0, len(wanted), READ_CHUNK):
            chunk = wanted[i : i + READ_CHUNK]
            pipe = self.client.pipeline(transaction=False)
            for scope, start in chunk:
                pipe.hgetall(keys.rollup_key(scope, start, self.prefix))
            for key, found in zip(chunk, pipe.execute(), strict=True):
                self._rollups[key] = (now, found)
        out = []
        for span in spans:
            starts = periods[span]
            hashes = [self._rollups[(span.scope, start)][1] for start in starts]
            out.append(summed([window_of(starts, hashes)], len(starts) * self.rollup_s))
        return out

    def _late_counts(self) -> list[tuple[str, int]]:
        """(scope, bucket start) counted into after the bucket settled, since the last call."""
        # Wall time, as the sink scores the late set (self.clock may be a simulated one).
        since, self._late_from = self._late_from, time.time()
        if since is None:  # the first call reads every sum whole
            return []
        found = self.client.zrangebyscore(keys.late_key(self.prefix), since - LATE_OVERLAP_S,
                                          "+inf")  # fmt: skip
        out = []
        for member in found:
            start, _, scope = str(member).partition(":")
            out.append((scope, int(start)))
        return out

    def _newest(self, scope: str) -> float:
        """The newest event time a document of ``scope`` can have, from the latest ``active``
        listing of its kind: a listed value's own, an unlisted one's before that listing's
        ``since``; unknown (``all``, a kind not listed yet): no bound."""
        kind, _, value = scope.partition(":")
        listing = self._listed.get(kind)
        if not value or listing is None:
            return math.inf
        since, newest = listing
        return newest.get(value, since - 1e-6)

    def _read(self, wanted: list[tuple[str, int]]) -> dict[tuple[str, int], Mapping[str, str]]:
        """Bucket hashes, READ_CHUNK per round trip."""
        out: dict[tuple[str, int], Mapping[str, str]] = {}
        for i in range(0, len(wanted), READ_CHUNK):
            chunk = wanted[i : i + READ_CHUNK]
            pipe = self.client.pipeline(transaction=False)
            for scope, start in chunk:
                pipe.hgetall(keys.bucket_key(scope, start, self.prefix))
            out.update(zip(chunk, pipe.execute(), strict=True))
        return out


class MemoryWindowStore:
    """The same contract in memory: the fake for unit tests of rules and the evaluator."""

    def __init__(
        self, bucket_s: int = 60, retention_s: int = 48 * 3600, max_scopes: int | None = None,
        rollup_s: int = 1800,
    ) -> None:  # fmt: skip
        self.bucket_s = bucket_s
        self.retention_s = retention_s
        self.max_scopes = max_scopes
        self.rollup_s = rollup_s
        self.buckets: dict[tuple[str, int], dict[str, float]] = defaultdict(dict)
        self.periods: dict[tuple[str, int], dict[str, float]] = defaultdict(dict)
        self.seen: dict[str, set[str]] = defaultdict(set)
        self.first: dict[str, str] = {}
        self.last_seen: dict[tuple[str, str], float] = {}

    def add(self, docs: Sequence[Countable]) -> int:
        """Count documents not counted before, per scope."""
        counted = 0
        now = time.time()
        for doc in docs:
            if doc.event_s < now - self.retention_s:
                continue
            unique = self.first.setdefault(doc.fingerprint, doc.id) == doc.id
            start = bucket_start(doc.event_s, self.bucket_s)
            for scope in doc.scopes:
                if scope in self.seen[doc.id]:
                    continue
                self.seen[doc.id].add(scope)
                self._bump(self.buckets[(scope, start)], doc, unique)
                period = bucket_start(doc.event_s, self.rollup_s)
                self._bump(self.periods[(scope, period)], doc, unique)
                kind, _, value = scope.partition(":")
                if value:
                    last = self.last_seen.get((kind, value), doc.event_s)
                    self.last_seen[(kind, value)] = max(last, doc.event_s)
                counted += 1
        self._forget_idle()
        return counted

    def _forget_idle(self) -> None:
        if self.max_scopes is None:
            return
        for kind in {k for k, _ in self.last_seen}:
            found = sorted(((t, v) for (k, v), t in self.last_seen.items() if k == kind),
                           reverse=True)  # fmt: skip
            for _, value in found[self.max_scopes :]:
                del self.last_seen[(kind, value)]

    @staticmethod
    def _bump(bucket: dict[str, float], doc: Countable, unique: bool) -> None:
        prefixes = ("", UNIQUE_PREFIX) if unique else ("",)
        for pre in prefixes:
            for name, add in (("total", 1.0), (doc.label, 1.0), ("score_sum", doc.score)):
                bucket[pre + name] = bucket.get(pre + name, 0.0) + add

    def window(self, scope: str, end_s: float, window_s: int) -> Window:
        """The window from memory."""
        starts = bucket_starts(end_s, window_s, self.bucket_s)
        return window_of(starts, [self.buckets.get((scope, s), {}) for s in starts])

    def scopes(self, kind: str) -> list[str]:
        """Values of ``kind`` seen, most recent first."""
        return list(self.active(kind, float("-inf")))

    def active(self, kind: str, since_s: float) -> dict[str, float]:
        """Values of ``kind`` with a document dated at or after ``since_s`` and the event time
        of their newest, most recent first."""
        found = [(t, v) for (k, v), t in self.last_seen.items() if k == kind and t >= since_s]
        return {v: t for t, v in sorted(found, reverse=True)}

    def windows(self, spans: Sequence[Span]) -> list[Window]:
        """One ``window`` per span: memory is cheap to read."""
        return each_window(self, spans)

    def rollups(self, spans: Sequence[Span]) -> list[Window]:
        """The rollup periods overlapping each span, summed."""
        out = []
        for scope, end_s, window_s in spans:
            starts = covering(end_s, window_s, self.rollup_s)
            found = window_of(starts, [self.periods.get((scope, s), {}) for s in starts])
            out.append(summed([found], len(starts) * self.rollup_s))
        return out
