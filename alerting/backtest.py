"""Backtest: what a threshold set would have fired on past data, with the live rule code.

History comes from the scored documents in Elasticsearch (first occurrences only, as the live
windows' ``unique`` counts), aggregated per scope into the same buckets the windows use. The same
``evaluate`` and lifecycle ``step`` then run bucket by bucket. Given labelled events, the report
adds detection delay, precision and recall.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from elasticsearch import Elasticsearch
from pydantic import AwareDatetime, BaseModel, ConfigDict

from alerting.evidence import SCOPE_FIELDS
from alerting.lifecycle import ScopeState, step
from alerting.rules import evaluate
from alerting.thresholds import KINDS, ThresholdError, ThresholdSet, apply_change
from streaming.windows import Stats

TERMS_SIZE = {"topic": 50, "ticker": 500, "source": 50}


class LabelledEvent(BaseModel):
    """A known spike: its scope and when it started and ended."""

    model_config = ConfigDict(extra="forbid")

    scope: str
    onset: AwareDatetime
    end: AwareDatetime


@dataclass
class History:
    """Per scope, unique totals and negatives per bucket from ``start`` (epoch s)."""

    start: int
    bucket_s: int
    buckets: int
    totals: dict[str, np.ndarray]
    negatives: dict[str, np.ndarray]


def _fill(
    hist: Iterable[dict[str, Any]], start: int, bucket_s: int, n: int
) -> tuple[np.ndarray, np.ndarray]:
    total, neg = np.zeros(n, np.int64), np.zeros(n, np.int64)
    for b in hist:
        i = (int(b["key"]) // 1000 - start) // bucket_s
        if 0 <= i < n:
            total[i] += b["doc_count"]
            neg[i] += b["negative"]["doc_count"]
    return total, neg


def load_history(
    es: Elasticsearch, pattern: str, since: datetime, until: datetime, bucket_s: int
) -> History:
    """Aggregate the scored documents between ``since`` and ``until`` per scope and bucket."""
    start = int(since.timestamp()) // bucket_s * bucket_s
    n = math.ceil((until.timestamp() - start) / bucket_s)
    hist = {
        "date_histogram": {"field": "published_at", "fixed_interval": f"{bucket_s}s"},
        "aggs": {"negative": {"filter": {"term": {"sentiment.label": "negative"}}}},
    }
    aggs: dict[str, Any] = {"all": hist}
    for kind, field in SCOPE_FIELDS.items():
        aggs[kind] = {"terms": {"field": field, "size": TERMS_SIZE[kind]}, "aggs": {"h": hist}}
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
    resp = es.search(
        index=pattern,
        size=0,
        query=query,
        aggs=aggs,
        allow_no_indices=True,
        ignore_unavailable=True,
    )
    result = resp.get("aggregations") or {}
    totals, negatives = {}, {}
    if result:
        totals["all"], negatives["all"] = _fill(result["all"]["buckets"], start, bucket_s, n)
        for kind in SCOPE_FIELDS:
            for term in result[kind]["buckets"]:
                scope = f"{kind}:{term['key']}"
                totals[scope], negatives[scope] = _fill(term["h"]["buckets"], start, bucket_s, n)
    return History(start, bucket_s, n, totals, negatives)


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


def simulate(history: History, tset: ThresholdSet, from_index: int, tick_s: float) -> list[Fired]:
    """Run rule and lifecycle over every bucket from ``from_index`` on; return the alerts."""
    b = history.bucket_s
    prefix = {s: np.concatenate([[0], np.cumsum(a)]) for s, a in history.totals.items()}
    negp = {s: np.concatenate([[0], np.cumsum(a)]) for s, a in history.negatives.items()}
    fired: list[Fired] = []
    for scope in history.totals:
        t = tset.for_scope(scope)
        w, base = math.ceil(t.window_s / b), math.ceil(t.baseline_s / b)
        # Live, a spike must hold for N ticks; here one evaluation spans a whole bucket.
        t = t.model_copy(
            update={"pending_evaluations": max(1, math.ceil(t.pending_evaluations * tick_s / b))}
        )
        state, open_alert = ScopeState(), None
        for i in range(from_index, history.buckets):
            now = history.start + (i + 1) * b

            def stats(s: str, end: int, length: int) -> Stats:
                total, neg = _window(prefix[s], end, length), _window(negp[s], end, length)
                return Stats(total=total, negative=neg)

            current = stats(scope, i, w)
            baseline = stats(scope, i - w, base)
            fallback = stats("all", i - w, base) if scope != "all" and "all" in prefix else None
            verdict = evaluate(current, baseline, t, fallback)
            state, event = step(state, verdict, now, t, new_id="b")
            when = datetime.fromtimestamp(now, UTC)
            if event == "fired":
                open_alert = Fired(scope, when, verdict.severity or "warning", None)
                fired.append(open_alert)
            elif event == "resolved" and open_alert is not None:
                fired[fired.index(open_alert)] = Fired(
                    scope, open_alert.fired_at, open_alert.severity, when
                )
                open_alert = None
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


def with_values(tset: ThresholdSet, assignments: list[str]) -> ThresholdSet:
    """``tset`` with the ``key=value`` assignments applied to its defaults (validated)."""
    changes: dict[str, dict[str, Any]] = {}
    for text in assignments:
        kinds, name, value = parse_assignment(text)
        for kind in kinds:
            changes.setdefault(kind, {})[name] = value
    changed = apply_change(tset, changes, None)
    return changed.model_copy(update={"version": tset.version})


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
        "scopes": len(history.totals),
        "configurations": report,
    }
