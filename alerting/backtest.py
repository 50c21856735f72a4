"""Backtest: what a threshold set would have fired on past data, with the live rule code.

History comes from the scored documents in Elasticsearch (first occurrences only, as the live
windows' ``unique`` counts), aggregated per scope into the same buckets the windows use. The same
``evaluate`` and lifecycle ``step`` then run bucket by bucket. Given labelled events, the report
adds detection delay, precision and recall.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from elasticsearch import Elasticsearch
from pydantic import AwareDatetime, BaseModel, ConfigDict

from alerting.evidence import SCOPE_FIELDS
from alerting.lifecycle import ScopeState, step
from alerting.rules import SpikeThresholds, evaluate
from alerting.thresholds import KINDS, ThresholdError, ThresholdSet, apply_change
from streaming.windows import Stats

PAGE = 5000
NEGATIVE = {"filter": {"term": {"sentiment.label": "negative"}}}
MAX_SINCE = timedelta(days=31)


class LabelledEvent(BaseModel):
    """A known spike: its scope and when it started and ended."""

    model_config = ConfigDict(extra="forbid")

    scope: str
    onset: AwareDatetime
    end: AwareDatetime


@dataclass
class History:
    """Per scope, unique totals and negatives per bucket index (sparse), buckets from ``start``."""

    start: int
    bucket_s: int
    buckets: int
    counts: dict[str, dict[int, tuple[int, int]]]

    def dense(self, scope: str) -> tuple[np.ndarray, np.ndarray]:
        """Prefix sums of totals and negatives (index i+1 holds the sum of buckets 0..i)."""
        total, neg = np.zeros(self.buckets, np.int64), np.zeros(self.buckets, np.int64)
        for i, (t, n) in self.counts.get(scope, {}).items():
            total[i], neg[i] = t, n
        zero = np.zeros(1, np.int64)
        return np.concatenate([zero, np.cumsum(total)]), np.concatenate([zero, np.cumsum(neg)])


def _pages(
    es: Elasticsearch, pattern: str, query: dict[str, Any], sources: list[dict[str, Any]]
) -> Iterator[dict[str, Any]]:
    """Every bucket of a composite aggregation, page by page (no bucket limit is hit)."""
    after: dict[str, Any] | None = None
    while True:
        composite: dict[str, Any] = {"size": PAGE, "sources": sources}
        if after is not None:
            composite["after"] = after
        resp = es.search(
            index=pattern,
            size=0,
            query=query,
            allow_no_indices=True,
            ignore_unavailable=True,
            aggs={"c": {"composite": composite, "aggs": {"negative": NEGATIVE}}},
        )
        agg = (resp.get("aggregations") or {}).get("c")
        if not agg or not agg["buckets"]:
            return
        yield from agg["buckets"]
        after = agg.get("after_key")
        if after is None:
            return


def load_history(
    es: Elasticsearch, pattern: str, since: datetime, until: datetime, bucket_s: int
) -> History:
    """Aggregate the scored documents between ``since`` and ``until`` per scope and bucket."""
    start = int(since.timestamp()) // bucket_s * bucket_s
    n = math.ceil((until.timestamp() - start) / bucket_s)
    query = {
        "bool": {
            "filter": [
                {
                    "range": {
                        "published_at": {
                            "gte": datetime.fromtimestamp(start, UTC).isoformat(),
                            "lt": until.isoformat(),
                        }
                    }
                }
            ],
            "must_not": [{"exists": {"field": "duplicate_of"}}],
        }
    }
    when = {"t": {"date_histogram": {"field": "published_at", "fixed_interval": f"{bucket_s}s"}}}
    counts: dict[str, dict[int, tuple[int, int]]] = {}
    kinds: list[tuple[str, str | None]] = [("all", None), *SCOPE_FIELDS.items()]
    for kind, field in kinds:
        sources = [when] if field is None else [{"s": {"terms": {"field": field}}}, when]
        for bucket in _pages(es, pattern, query, sources):
            i = (int(bucket["key"]["t"]) // 1000 - start) // bucket_s
            if 0 <= i < n:
                scope = kind if field is None else f"{kind}:{bucket['key']['s']}"
                counts.setdefault(scope, {})[i] = (
                    bucket["doc_count"],
                    bucket["negative"]["doc_count"],
                )
    return History(start, bucket_s, n, counts)


def _window(prefix: np.ndarray, end: int, length: int) -> int:
    """Sum of buckets (end - length, end] from a prefix-sum array (index shifted by one)."""
    hi, lo = end + 1, max(0, end + 1 - length)
    return int(prefix[hi] - prefix[lo]) if hi > 0 else 0


@dataclass(frozen=True)
class Fired:
    """An alert the backtest would have fired."""

    scope: str
    fired_at: datetime
    severity: str
    resolved_at: datetime | None


def _simulate_scope(
    history: History,
    scope: str,
    t: SpikeThresholds,
    from_index: int,
    market: tuple[np.ndarray, np.ndarray] | None,
) -> list[Fired]:
    b = history.bucket_s
    w, base = math.ceil(t.window_s / b), math.ceil(t.baseline_s / b)
    totals, negs = history.dense(scope)
    ends = np.arange(history.buckets)
    current = totals[ends + 1] - totals[np.maximum(0, ends + 1 - w)]
    # Idle and below min_docs the rule cannot fire and the lifecycle does nothing: skip those.
    busy = set(np.nonzero(current >= t.min_docs)[0].tolist())

    def stats(p: tuple[np.ndarray, np.ndarray], end: int, length: int) -> Stats:
        return Stats(total=_window(p[0], end, length), negative=_window(p[1], end, length))

    fired: list[Fired] = []
    state = ScopeState()
    for i in range(from_index, history.buckets):
        if state.phase == "idle" and i not in busy:
            continue
        now = history.start + (i + 1) * b
        verdict = evaluate(
            stats((totals, negs), i, w),
            stats((totals, negs), i - w, base),
            t,
            stats(market, i - w, base) if market is not None else None,
        )
        state, event = step(state, verdict, now, t, new_id="b")
        when = datetime.fromtimestamp(now, UTC)
        if event == "fired":
            fired.append(Fired(scope, when, verdict.severity or "warning", None))
        elif event == "resolved" and fired:
            last = fired[-1]
            fired[-1] = Fired(scope, last.fired_at, last.severity, when)
    return fired


def simulate(history: History, tset: ThresholdSet, from_index: int, tick_s: float) -> list[Fired]:
    """Run rule and lifecycle over every bucket from ``from_index`` on; return the alerts."""
    market = history.dense("all") if "all" in history.counts else None
    fired: list[Fired] = []
    for scope in history.counts:
        t = tset.for_scope(scope)
        # Live, a spike must hold for N ticks; here one evaluation spans a whole bucket.
        pending = max(1, math.ceil(t.pending_evaluations * tick_s / history.bucket_s))
        t = t.model_copy(update={"pending_evaluations": pending})
        fired += _simulate_scope(history, scope, t, from_index, market if scope != "all" else None)
    return sorted(fired, key=lambda f: f.fired_at)


def score(
    fired: list[Fired], events: list[LabelledEvent], days: float, window_s: int
) -> dict[str, Any]:
    """Alerts per day, and with labelled events: detection delay, precision, recall."""
    out: dict[str, Any] = {"alerts": len(fired), "alerts_per_day": round(len(fired) / days, 3)}
    if not events:
        return out
    matched: set[int] = set()
    delays = []
    for ev in events:
        hits = [
            i
            for i, f in enumerate(fired)
            if f.scope == ev.scope
            and ev.onset <= f.fired_at <= ev.end + timedelta(seconds=window_s)
        ]
        matched |= set(hits)
        if hits:
            delays.append((fired[hits[0]].fired_at - ev.onset).total_seconds())
    false = len(fired) - len(matched)
    out |= {
        "events": len(events),
        "detected": len(delays),
        "recall": round(len(delays) / len(events), 4),
        "precision": round(len(matched) / len(fired), 4) if fired else None,
        "false_alerts": false,
        "false_alerts_per_day": round(false / days, 3),
        "detection_delay_s": {
            "mean": round(float(np.mean(delays)), 1),
            "max": round(max(delays), 1),
        }
        if delays
        else None,
    }
    return out


def parse_assignment(text: str) -> tuple[list[str], str, str]:
    """``ratio=2`` (every kind) or ``ticker.ratio=2`` → (kinds, key, value)."""
    key, sep, value = text.partition("=")
    if not sep or not key or not value:
        raise ThresholdError(text, "use key=value, e.g. ratio=2.5 or ticker.min_docs=5")
    kind, dot, name = key.rpartition(".")
    if dot and kind not in KINDS:
        raise ThresholdError(key, f"unknown scope kind {kind!r}; use one of {list(KINDS)}")
    return ([kind] if dot else list(KINDS)), name, value


def candidate(tset: ThresholdSet, defaults: dict[str, dict[str, Any]]) -> ThresholdSet:
    """``tset`` with ``defaults`` merged in (validated), still under its own version: a set
    to try, not a new version."""
    return apply_change(tset, defaults, None).model_copy(update={"version": tset.version})


def with_values(tset: ThresholdSet, assignments: list[str]) -> ThresholdSet:
    """``tset`` with the ``key=value`` assignments applied to its defaults (validated)."""
    changes: dict[str, dict[str, Any]] = {}
    for text in assignments:
        kinds, name, value = parse_assignment(text)
        for kind in kinds:
            changes.setdefault(kind, {})[name] = value
    return candidate(tset, changes)


def configurations(base: list[str], sweep: dict[str, list[str]]) -> dict[str, list[str]]:
    """``given`` (the base assignments) and one configuration per swept value, by name."""
    configs = {"given": list(base)}
    for key, values in sweep.items():
        for value in values:
            configs[f"{key}={value}"] = [*base, f"{key}={value}"]
    return configs


def run(
    es: Elasticsearch,
    pattern: str,
    tset: ThresholdSet,
    *,
    since: timedelta,
    bucket_s: int,
    tick_s: float,
    configs: dict[str, list[str]],
    events: list[LabelledEvent] | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Backtest each named configuration (a list of assignments over ``tset``) over ``since``."""
    if not timedelta(0) < since <= MAX_SINCE:
        raise ThresholdError("since", f"a backtest covers up to {MAX_SINCE.days} days")
    until = now or datetime.now(UTC)
    sets = {name: with_values(tset, assigns) for name, assigns in configs.items()}
    longest = max(t.window_s + t.baseline_s for s in sets.values() for t in s.defaults.values())
    history = load_history(es, pattern, until - since - timedelta(seconds=longest), until, bucket_s)
    from_index = math.ceil(longest / bucket_s)
    days = since.total_seconds() / 86400
    report = {}
    for name, candidate in sets.items():
        fired = simulate(history, candidate, from_index, tick_s)
        window = max(t.window_s for t in candidate.defaults.values())
        report[name] = {
            "set": configs[name],
            **score(fired, events or [], days, window),
            "fired": [
                {
                    "scope": f.scope,
                    "fired_at": f.fired_at.isoformat(),
                    "severity": f.severity,
                    "resolved_at": f.resolved_at.isoformat() if f.resolved_at else None,
                }
                for f in fired
            ],
        }
    return {
        "since": (until - since).isoformat(),
        "until": until.isoformat(),
        "scopes": len(history.counts),
        "configurations": report,
    }
