"""Running window sums, so that a tick over thousands of scopes reads only what changed.

Reading every bucket of every scope's windows each tick costs about 130 bucket reads per scope
(a 10 min window and a 2 h baseline of 1 min buckets). Here a window is split in its settled
buckets (ended more than ``settle_s`` ago) and its open ones. The settled part is kept as a
running sum with the buckets that make it up: when the window moves on, the buckets it gained
are read and those it lost are subtracted as they were added. The open buckets are read at each
call. Buckets known to be empty (a scope's newest document is older than them) are not read.

A document counted after its bucket settled (a sink catching up, a replay, a late feed) is noted
by the window store in a late set; the next call reads those buckets again and corrects the
sums holding them by the difference. As a safety net, each sum is also read whole again after
``refresh_s`` to twice that (spread per scope, so the re-reads do not all fall on one tick).
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from streaming.windows import (
    Span,
    Stats,
    Window,
    bucket_start,
    bucket_starts,
    newest_settled,
    stats_of,
)

# A settled part that moved on by at most this many buckets is rolled, else read whole.
MAX_ROLL = 5
EMPTY = Stats()

Bucket = tuple[Stats, Stats]  # all documents, first occurrences
Read = Mapping[tuple[str, int], Mapping[str, str]]


def _bucket(read: Read, scope: str, start: int) -> Bucket:
    stored = read.get((scope, start))
    if not stored:
        return EMPTY, EMPTY
    return stats_of(stored), stats_of(stored, unique=True)


@dataclass
class _Settled:
    """The running sums of a window's settled buckets, ``first`` to ``last``."""

    first: int
    last: int
    total: Stats
    unique: Stats
    parts: dict[int, Bucket]  # the non-empty buckets, as they were added
    born: float
    used: float
    filling: bool = False  # planned to be read whole in the call under way


@dataclass
class Plan:
    """What one span needs: its open buckets, the settled ones to read, those to subtract."""

    span: Span
    first: int
    key: tuple[str, int, int]
    opened: list[int]
    gained: list[int]
    lost: list[int] = field(default_factory=list)
    rolled: bool = False

    def reads(self) -> Iterable[int]:
        """The bucket starts to read."""
        return (*self.opened, *self.gained)


class WindowSums:
    """Settled running sums per (scope, window length, buckets before now)."""

    def __init__(self, bucket_s: int, *, settle_s: float, refresh_s: float) -> None:
        self.bucket_s = bucket_s
        self.settle_s = settle_s
        self.refresh_s = refresh_s
        self._sums: dict[tuple[str, int, int], _Settled] = {}
        # (window length, buckets before now) of the sums kept: where a late count may land.
        self._shapes: set[tuple[int, int]] = set()
        self._swept = 0.0

    def plan(self, span: Span, now: float, newest: Callable[[str], float]) -> Plan:
        """The reads ``span`` needs at ``now``; ``newest(scope)`` bounds the event time of the
        scope's newest document (a bucket that starts after it is empty and not read)."""
        b = self.bucket_s
        starts = bucket_starts(span.end_s, span.window_s, b)
        first, last = starts[0], starts[-1]
        done = min(last, newest_settled(now, b, self.settle_s))
        key = (span.scope, span.window_s, (bucket_start(now, b) - last) // b)
        bound = newest(span.scope)
        opened = [s for s in starts if s > done and s <= bound]
        if done < first:
            return Plan(span, first, key, opened, [])
        entry = self._sums.get(key)
        fresh = entry is not None and now < entry.born + self._refresh_after(span.scope)
        if (entry is not None and fresh and entry.last - entry.first == done - first
                and 0 <= first - entry.first <= MAX_ROLL * b):  # fmt: skip
            gained = [s for s in range(entry.last + b, done + 1, b) if s <= bound]
            lost = list(range(entry.first, first, b))
            return Plan(span, first, key, opened, gained, lost, rolled=True)
        gained = [s for s in range(first, done + 1, b) if s <= bound]
        self._sums[key] = _Settled(first, done, EMPTY, EMPTY, {}, now, now, filling=True)
        self._shapes.add(key[1:])
        return Plan(span, first, key, opened, gained)

    def _holding(self, scope: str, start: int) -> list[_Settled]:
        """The sums (not being filled) whose settled buckets include ``start``."""
        found = []
        for window_s, offset in self._shapes:
            entry = self._sums.get((scope, window_s, offset))
            if entry is not None and not entry.filling and entry.first <= start <= entry.last:
                found.append(entry)
        return found

    def late(self, counted: Iterable[tuple[str, int]]) -> list[tuple[str, int]]:
        """Of the (scope, bucket start) counted into after they settled, those a sum holds:
        the buckets to read again."""
        return [(scope, start) for scope, start in dict.fromkeys(counted)
                if self._holding(scope, start)]  # fmt: skip

    def correct(self, late: Iterable[tuple[str, int]], read: Read) -> None:
        """Bring the sums holding the ``late`` buckets up to what ``read`` found in them (read
        again, a bucket changes nothing more)."""
        for scope, start in late:
            now = _bucket(read, scope, start)
            for entry in self._holding(scope, start):
                was = entry.parts.get(start, (EMPTY, EMPTY))
                entry.total = entry.total - was[0] + now[0]
                entry.unique = entry.unique - was[1] + now[1]
                if now[0].total:
                    entry.parts[start] = now
                else:
                    entry.parts.pop(start, None)

    def window(self, plan: Plan, read: Read, now: float) -> Window:
        """The span's window, once its reads are done; the running sums move on."""
        scope = plan.span.scope
        total, unique = EMPTY, EMPTY
        entry = self._sums.get(plan.key)
        if entry is not None:
            for start in plan.lost:
                gone = entry.parts.pop(start, None)
                if gone is not None:
                    entry.total, entry.unique = entry.total - gone[0], entry.unique - gone[1]
            for start in plan.gained:
                got = _bucket(read, scope, start)
                if got[0].total:
                    entry.parts[start] = got
                    entry.total, entry.unique = entry.total + got[0], entry.unique + got[1]
            # Rolled: as long as before, moved on; filled: already where the plan put it.
            step = plan.first - entry.first
            entry.first, entry.last, entry.used = plan.first, entry.last + step, now
            entry.filling = False
            total, unique = entry.total, entry.unique
        for start in plan.opened:
            got = _bucket(read, scope, start)
            total, unique = total + got[0], unique + got[1]
        return Window([plan.first], [total], [unique])

    def _refresh_after(self, scope: str) -> float:
        return self.refresh_s * (1.0 + (zlib.crc32(scope.encode()) % 1000) / 1000)

    def sweep(self, now: float) -> None:
        """Forget the sums no call asked for in a refresh period (looked at once a minute)."""
        if now - self._swept < 60:
            return
        self._swept = now
        stale = [key for key, entry in self._sums.items() if now - entry.used > self.refresh_s]
        for key in stale:
            del self._sums[key]
