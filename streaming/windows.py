"""Window arithmetic over fixed time buckets (pure; the Redis adapter stores the buckets).

A bucket holds counts per sentiment label and the score sum, for all documents and, under a
``u_`` prefix, for first occurrences of a near-duplicate fingerprint only. A window is the sum
of its buckets.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

LABELS = ("negative", "neutral", "positive")
UNIQUE_PREFIX = "u_"


def bucket_start(epoch_s: float, size_s: int) -> int:
    """The start of the bucket holding ``epoch_s``."""
    return int(epoch_s // size_s) * size_s


def bucket_count(window_s: int, size_s: int) -> int:
    """How many buckets a window of ``window_s`` spans (at least one)."""
    return max(1, -(-window_s // size_s))


def bucket_starts(end_s: float, window_s: int, size_s: int) -> list[int]:
    """Starts of the buckets of the window that ends at ``end_s`` (the bucket holding it last)."""
    last = bucket_start(end_s, size_s)
    count = bucket_count(window_s, size_s)
    return [last - i * size_s for i in range(count - 1, -1, -1)]


def covering(end_s: float, window_s: int, size_s: int) -> list[int]:
    """Starts of the ``size_s`` periods that overlap the ``window_s`` ending at ``end_s``
    (rollups: a seasonal baseline reads the periods around the same time of an earlier day)."""
    first, last = bucket_start(end_s - window_s, size_s), bucket_start(end_s, size_s)
    return list(range(first, last + 1, size_s))


def newest_settled(now_s: float, size_s: int, settle_s: float) -> int:
    """The start of the newest bucket that ended at least ``settle_s`` before ``now_s``: a
    document counted into it or an older one is late (``streaming.window_sums``)."""
    return bucket_start(now_s - settle_s, size_s) - size_s


def increments(label: str, score: float, unique: bool) -> dict[str, float]:
    """What one document adds to its bucket."""
    add: dict[str, float] = {"total": 1, label: 1, "score_sum": score}
    if unique:
        add |= {UNIQUE_PREFIX + k: v for k, v in list(add.items())}
    return add


@dataclass(frozen=True)
class Stats:
    """Counts of a window (or a bucket)."""

    total: int = 0
    negative: int = 0
    neutral: int = 0
    positive: int = 0
    score_sum: float = 0.0

    @property
    def negative_share(self) -> float:
        """Negative documents over all documents (0 for an empty window)."""
        return self.negative / self.total if self.total else 0.0

    @property
    def mean_score(self) -> float:
        """Mean of p_pos - p_neg (0 for an empty window)."""
        return self.score_sum / self.total if self.total else 0.0

    def __add__(self, other: Stats) -> Stats:
        return Stats(
            self.total + other.total,
            self.negative + other.negative,
            self.neutral + other.neutral,
            self.positive + other.positive,
            self.score_sum + other.score_sum,
        )

    def __sub__(self, other: Stats) -> Stats:
        return Stats(
            self.total - other.total,
            self.negative - other.negative,
            self.neutral - other.neutral,
            self.positive - other.positive,
            self.score_sum - other.score_sum,
        )

    def as_dict(self) -> dict[str, float]:
        """JSON-ready, with the derived figures."""
        return {
            "total": self.total,
            "negative": self.negative,
            "neutral": self.neutral,
            "positive": self.positive,
            "negative_share": round(self.negative_share, 6),
            "mean_score": round(self.mean_score, 6),
        }


def stats_of(bucket: Mapping[str, str | float], unique: bool = False) -> Stats:
    """Stats from a stored bucket hash (all documents, or first occurrences only)."""
    pre = UNIQUE_PREFIX if unique else ""

    def get(name: str) -> float:
        return float(bucket.get(pre + name, 0) or 0)

    return Stats(
        int(get("total")), int(get("negative")), int(get("neutral")), int(get("positive")),
        get("score_sum"),
    )  # fmt: skip


class Span(NamedTuple):
    """Which window to read: ``scope``'s buckets over ``window_s`` ending at ``end_s``."""

    scope: str
    end_s: float
    window_s: int


@dataclass(frozen=True)
class Window:
    """A window's per-bucket series and its sum."""

    starts: list[int]
    buckets: list[Stats]
    unique_buckets: list[Stats] = field(default_factory=list)
    # How many seconds of counts it holds when that is not the span it was read for (a
    # seasonal baseline: rollup periods of several days); 0: the span's.
    span_s: float = 0.0

    @property
    def stats(self) -> Stats:
        """The sum over the buckets."""
        return self.buckets[0] if len(self.buckets) == 1 else sum(self.buckets, Stats())

    @property
    def unique(self) -> Stats:
        """The sum over first occurrences only."""
        if len(self.unique_buckets) == 1:
            return self.unique_buckets[0]
        return sum(self.unique_buckets, Stats())


def summed(windows: Sequence[Window], span_s: float) -> Window:
    """Windows added up into one bucket holding ``span_s`` seconds of counts."""
    return Window([w.starts[0] for w in windows[:1]], [sum((w.stats for w in windows), Stats())],
                  [sum((w.unique for w in windows), Stats())], span_s)  # fmt: skip


def window_of(starts: list[int], hashes: Iterable[Mapping[str, str | float]]) -> Window:
    """Assemble a Window from the stored bucket hashes, in the order of ``starts``."""
    stored = list(hashes)
    return Window(starts, [stats_of(h) for h in stored], [stats_of(h, unique=True) for h in stored])
