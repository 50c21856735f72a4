"""Backtest: what a threshold set would have fired on past data, with the live evaluator.

History comes from the scored documents in Elasticsearch, aggregated per scope into the same
buckets the live windows use (all documents and first occurrences). A window store over those
buckets, in-memory alert and threshold stores and a simulated clock then run the very
``Evaluator`` and lifecycle of ``undertow alerting serve``, tick by tick. Given labelled
events, the report adds detection delay, precision and recall.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from elasticsearch import Elasticsearch
from pydantic import AwareDatetime, BaseModel, ConfigDict

from alerting.alert_store import MemoryAlertStore
from alerting.baselines import lookback_s
from alerting.evaluator import Evaluator
from alerting.evidence import SCOPE_FIELDS
from alerting.notifiers import MemoryDispatcher
from alerting.rules.base import RuleThresholds
from alerting.rules.registry import DEFAULT_RULE, REGISTRY
from alerting.threshold_store import MemoryThresholdStore
from alerting.thresholds import KINDS, ThresholdError, ThresholdSet, apply_change
from streaming.window_store import Countable, each_window
from streaming.windows import (
    LABELS,
    Span,
    Stats,
    Window,
    bucket_count,
    bucket_start,
    covering,
)

PAGE = 5000
MAX_SINCE = timedelta(days=31)
# Columns of a bucket: all documents, then first occurrences (not ``duplicate_of`` a story).
COLUMNS = ("total", *LABELS, "score_sum")
_COUNTS = {
    "label": {"terms": {"field": "sentiment.label", "size": len(LABELS)}},
    "score": {"sum": {"field": "sentiment.score"}},
}
_AGGS = {
    **_COUNTS,
    "u": {
        "filter": {"bool": {"must_not": [{"exists": {"field": "duplicate_of"}}]}},
        "aggs": _COUNTS,
    },
}


class LabelledEvent(BaseModel):
    """A known spike: its scope, when it started and ended, and the rule meant to catch it
    (None: any rule's alert on the scope detects it)."""

    model_config = ConfigDict(extra="forbid")

    scope: str
    onset: AwareDatetime
    end: AwareDatetime
    rule: str | None = None


class FiredAlert(BaseModel):
    """An alert a configuration would have fired."""

    rule: str
    scope: str
    fired_at: AwareDatetime
    severity: str
    resolved_at: AwareDatetime | None


class DetectionDelay(BaseModel):
    """From a labelled event's onset to the first alert on its scope, in seconds."""

    mean: float
    max: float


class Scores(BaseModel):
    """Alerts of a configuration (or of one rule in it); event figures with labelled events."""

    alerts: int
    alerts_per_day: float
    events: int | None = None
    detected: int | None = None
    recall: float | None = None
    precision: float | None = None
    false_alerts: int | None = None
    false_alerts_per_day: float | None = None
    detection_delay_s: DetectionDelay | None = None


class ConfigurationResult(Scores):
    """What one configuration would have fired, over all rules and per rule (each rule against
    the events labelled for it or for no rule in particular)."""

    set: list[str]
    by_rule: dict[str, Scores] = {}
    fired: list[FiredAlert]


class BacktestReport(BaseModel):
    """A backtest: the period, the scopes and rules it covered, a result per configuration."""

    since: AwareDatetime
    until: AwareDatetime
    scopes: int
    rules: list[str]
    configurations: dict[str, ConfigurationResult]


@dataclass
class History:
    """Per scope, the counts of each bucket from ``start`` (``buckets`` of ``bucket_s``)."""

    start: int
    bucket_s: int
    buckets: int
    counts: dict[str, dict[int, tuple[float, ...]]]

    def prefix_sums(self, scope: str) -> np.ndarray:
        """Row i+1 holds the sums of buckets 0..i, all documents then first occurrences."""
        rows = np.zeros((self.buckets + 1, 2 * len(COLUMNS)))
        for i, values in self.counts.get(scope, {}).items():
            rows[i + 1] = values
        return np.cumsum(rows, axis=0)


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
            aggs={"c": {"composite": composite, "aggs": _AGGS}},
        )
        agg = (resp.get("aggregations") or {}).get("c")
        if not agg or not agg["buckets"]:
            return
        yield from agg["buckets"]
        after = agg.get("after_key")
        if after is None:
            return


def _row(agg: dict[str, Any]) -> tuple[float, ...]:
    labels = {b["key"]: b["doc_count"] for b in agg["label"]["buckets"]}
    return (agg["doc_count"], *(labels.get(label, 0) for label in LABELS), agg["score"]["value"])


def load_history(
    es: Elasticsearch, pattern: str, since: datetime, until: datetime, bucket_s: int
) -> History:
    """Aggregate the scored documents between ``since`` and ``until`` per scope and bucket."""
    start = int(since.timestamp()) // bucket_s * bucket_s
    n = math.ceil((until.timestamp() - start) / bucket_s)
    span = {
        "gte": datetime.fromtimestamp(start, UTC).isoformat(),
        "lt": until.isoformat(),
    }
    query = {"bool": {"filter": [{"range": {"published_at": span}}]}}
    when = {"t": {"date_histogram": {"field": "published_at", "fixed_interval": f"{bucket_s}s"}}}
    counts: dict[str, dict[int, tuple[float, ...]]] = {}
    kinds: list[tuple[str, str | None]] = [("all", None), *SCOPE_FIELDS.items()]
    for kind, field in kinds:
        sources = [when] if field is None else [{"s": {"terms": {"field": field}}}, when]
        for bucket in _pages(es, pattern, query, sources):
            i = (int(bucket["key"]["t"]) // 1000 - start) // bucket_s
            if 0 <= i < n:
                scope = kind if field is None else f"{kind}:{bucket['key']['s']}"
                counts.setdefault(scope, {})[i] = _row(bucket) + _row(bucket["u"])
    return History(start, bucket_s, n, counts)


@dataclass(frozen=True)
class HistoryDoc:
    """One scored document as the backtest counts it (for a history built in memory)."""

    published_s: float
    label: str
    score: float
    topic: str | None
    tickers: tuple[str, ...]
    source: str | None
    unique: bool = True


def history_of(
    docs: Sequence[HistoryDoc], start_s: float, until_s: float, bucket_s: int
) -> History:
    """The History of ``docs`` (as ``load_history`` aggregates them from Elasticsearch), e.g.
    the same documents with another model's labels."""
    start = int(start_s) // bucket_s * bucket_s
    n = math.ceil((until_s - start) / bucket_s)
    width = len(COLUMNS)
    counts: dict[str, dict[int, tuple[float, ...]]] = {}
    for doc in docs:
        i = (int(doc.published_s) - start) // bucket_s
        if not 0 <= i < n:
            continue
        row = [0.0] * width
        row[0], row[1 + LABELS.index(doc.label)], row[-1] = 1.0, 1.0, doc.score
        values = row + (row if doc.unique else [0.0] * width)
        scopes = ["all", *(f"ticker:{t}" for t in doc.tickers)]
        scopes += [f"topic:{doc.topic}"] if doc.topic else []
        scopes += [f"source:{doc.source}"] if doc.source else []
        for scope in scopes:
            held = counts.setdefault(scope, {}).get(i)
            counts[scope][i] = tuple(values) if held is None else tuple(
                a + b for a, b in zip(held, values, strict=True))  # fmt: skip
    return History(start, bucket_s, n, counts)


def _stats(hi: list[float], lo: list[float], at: int) -> Stats:
    return Stats(
        round(hi[at] - lo[at]),
        round(hi[at + 1] - lo[at + 1]),
        round(hi[at + 2] - lo[at + 2]),
        round(hi[at + 3] - lo[at + 3]),
        hi[at + 4] - lo[at + 4],
    )


class HistoryWindows:
    """A read-only WindowStore over a History, seen from the simulated clock's ``now``.

    Window contents change only when the clock crosses a bucket boundary, so ``scopes`` lists
    the scopes of a kind once per bucket; between boundaries the evaluator then looks only at
    the scopes whose alerts it holds, which is all that can change there.
    """

    def __init__(
        self, history: History, clock: SimulatedClock, retention_s: int, rollup_s: int = 1800
    ) -> None:
        self.history = history
        self.clock = clock
        self.retention_s = retention_s
        self.rollup_s = rollup_s
        # Plain lists: a window is two row lookups and ten subtractions, no array overhead.
        self._sums = {scope: history.prefix_sums(scope).tolist() for scope in history.counts}
        # (kind, since as buckets before now) → the bucket, the tick and what it listed.
        self._listed: dict[tuple[str, int], tuple[int, float, list[str]]] = {}
        # Per kind: each value with the first and last bucket it has documents in.
        self._spans: dict[str, list[tuple[str, int, int]]] = {}
        for scope, buckets in history.counts.items():
            kind, _, value = scope.partition(":")
            if value:
                self._spans.setdefault(kind, []).append((value, min(buckets), max(buckets)))

    def add(self, docs: Sequence[Countable]) -> int:
        """History is read-only: nothing is counted."""
        return 0

    def _index(self, epoch_s: float) -> int:
        return (bucket_start(epoch_s, self.history.bucket_s) - self.history.start) // (
            self.history.bucket_s
        )

    def window(self, scope: str, end_s: float, window_s: int) -> Window:
        """The sums of the window's buckets (as live: ``bucket_starts``), as one bucket."""
        b = self.history.bucket_s
        count = bucket_count(window_s, b)
        first = [bucket_start(end_s, b) - (count - 1) * b]
        sums = self._sums.get(scope)
        if sums is None:
            return Window(first, [Stats()], [Stats()])
        last = self._index(end_s)
        hi = sums[min(max(last + 1, 0), self.history.buckets)]
        lo = sums[min(max(last + 1 - count, 0), self.history.buckets)]
        return Window(first, [_stats(hi, lo, 0)], [_stats(hi, lo, len(COLUMNS))])

    def scopes(self, kind: str) -> list[str]:
        """Values of ``kind`` with documents within the retention before now."""
        now = self.clock()
        index, oldest = self._index(now), self._index(now - self.retention_s)
        spans = self._spans.get(kind, [])
        return [value for value, first, last in spans if first <= index and last >= oldest]

    def active(self, kind: str, since_s: float) -> dict[str, float]:
        """Values of ``kind`` with documents from ``since_s`` to now (each with now, a bound
        above its newest): listed at the first tick in a bucket (every call of that tick gets
        the list), and none at the others."""
        now = self.clock()
        index = self._index(now)
        memo = (kind, self._index(since_s) - index)
        listed = self._listed.get(memo)
        if listed is not None and listed[0] == index:
            return dict.fromkeys(listed[2], now) if listed[1] == now else {}
        lo, hi = max(self._index(since_s), 0), min(index + 1, self.history.buckets)
        found = []
        for value, first, last in self._spans.get(kind, []):
            sums = self._sums[f"{kind}:{value}"]
            if first <= index and last >= lo and sums[hi][0] > sums[lo][0]:
                found.append(value)
        self._listed[memo] = (index, now, found)
        return dict.fromkeys(found, now)

    def windows(self, spans: Sequence[Span]) -> list[Window]:
        """One ``window`` per span: two row lookups each."""
        return each_window(self, spans)

    def rollups(self, spans: Sequence[Span]) -> list[Window]:
        """As live: the rollup periods overlapping each span, from the same prefix sums."""
        out = []
        for scope, end_s, window_s in spans:
            starts = covering(end_s, window_s, self.rollup_s)
            whole = starts[-1] + self.rollup_s - starts[0]
            out.append(replace(self.window(scope, starts[-1] + self.rollup_s - 1e-3, whole),
                               span_s=whole))  # fmt: skip
        return out


class SimulatedClock:
    """The backtest's time: set by the driver, read by the evaluator and the window store."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def simulate(
    history: History,
    tset: ThresholdSet,
    *,
    start_s: float,
    end_s: float,
    tick_s: float,
    retention_s: int,
    rollup_s: int = 1800,
) -> list[FiredAlert]:
    """Run the live evaluator tick by tick from ``start_s`` to ``end_s``; return the alerts.

    While no alert is held, a tick can change nothing until the next bucket, so the clock jumps
    to the first tick of the next bucket; otherwise it advances one tick.
    """
    clock = SimulatedClock(start_s)
    windows = HistoryWindows(history, clock, retention_s, rollup_s)
    alerts, dispatcher = MemoryAlertStore(), MemoryDispatcher()
    evaluator = Evaluator(
        windows, MemoryThresholdStore(tset), alerts, dispatcher, None,
        bucket_s=history.bucket_s, clock=clock,
    )  # fmt: skip
    b = history.bucket_s
    while clock.now < end_s:
        evaluator.tick()
        step = tick_s
        if not alerts.states():
            next_bucket = bucket_start(clock.now, b) + b
            step = max(tick_s, math.ceil((next_bucket - clock.now) / tick_s) * tick_s)
        clock.now += step
    return _fired(dispatcher)


def _fired(dispatcher: MemoryDispatcher) -> list[FiredAlert]:
    fired: dict[str, FiredAlert] = {}
    for alert, event in dispatcher.events:
        if event == "fired" and alert.fired_at is not None:
            fired[alert.id] = FiredAlert(
                rule=alert.rule, scope=alert.scope.name, fired_at=alert.fired_at,
                severity=alert.severity, resolved_at=None,
            )  # fmt: skip
        elif event == "resolved" and alert.id in fired:
            fired[alert.id] = fired[alert.id].model_copy(update={"resolved_at": alert.resolved_at})
    return sorted(fired.values(), key=lambda f: f.fired_at)


def score(
    fired: list[FiredAlert], events: list[LabelledEvent], days: float, window_s: int
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
            and (ev.rule is None or f.rule == ev.rule)
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


def parse_assignment(text: str) -> tuple[list[str], list[str], str, str]:
    """``ratio=2`` (every rule that has it, every kind), ``ticker.ratio=2`` (one kind) or
    ``negative_spike.ticker.ratio=2`` (one rule) → (rules, kinds, key, value)."""
    key, sep, value = text.partition("=")
    if not sep or not key or not value:
        raise ThresholdError(text, "use key=value, e.g. ratio=2.5 or ticker.min_docs=5")
    parts = key.split(".")
    rules = [parts.pop(0)] if len(parts) > 1 and parts[0] in REGISTRY else []
    if len(parts) > 2 or (len(parts) == 2 and parts[0] not in KINDS):
        raise ThresholdError(key, f"unknown scope kind {parts[0]!r}; use one of {list(KINDS)}")
    name = parts[-1]
    if not rules:
        rules = [r for r, rule in REGISTRY.items() if name in rule.thresholds.model_fields]
        if not rules:
            raise ThresholdError(key, f"no rule has a threshold {name!r}")
    return rules, ([parts[0]] if len(parts) == 2 else list(KINDS)), name, value


def candidate(
    tset: ThresholdSet,
    defaults: dict[str, dict[str, Any]] | None,
    rule: str = DEFAULT_RULE,
    overrides: dict[str, dict[str, Any] | None] | None = None,
) -> ThresholdSet:
    """``tset`` with one rule's ``defaults`` and per-scope ``overrides`` (None: remove one)
    merged in (validated), still under its own version: a set to try, not a new version."""
    changed = apply_change(tset, defaults, overrides, rule)
    return changed.model_copy(update={"version": tset.version})


def with_values(tset: ThresholdSet, assignments: list[str]) -> ThresholdSet:
    """``tset`` with the ``key=value`` assignments applied to its defaults (validated)."""
    changes: dict[str, dict[str, dict[str, Any]]] = {}
    for text in assignments:
        rules, kinds, name, value = parse_assignment(text)
        for rule in rules:
            for kind in kinds:
                changes.setdefault(rule, {}).setdefault(kind, {})[name] = value
    for rule, defaults in changes.items():
        tset = candidate(tset, defaults, rule)
    return tset


def configurations(base: list[str], sweep: dict[str, list[str]]) -> dict[str, list[str]]:
    """``given`` (the base assignments) and one configuration per swept value, by name."""
    configs = {"given": list(base)}
    for key, values in sweep.items():
        for value in values:
            configs[f"{key}={value}"] = [*base, f"{key}={value}"]
    return configs


def _looks_back_s(t: RuleThresholds) -> float:
    """How much history before a window its baseline reads (a seasonal one may fall back to
    the recent one)."""
    if t.baseline == "seasonal":
        return max(t.baseline_s, lookback_s(t.seasonal_days))
    return t.baseline_s


def _every_rule(tset: ThresholdSet) -> list[Any]:
    return [t for name in REGISTRY for t in tset.of(name).defaults.values()]


def history_needed_s(tset: ThresholdSet) -> float:
    """The history before a first evaluation that every rule's window and baseline read."""
    return float(max(t.window_s + _looks_back_s(t) for t in _every_rule(tset)))


def history_minimum_s(tset: ThresholdSet) -> float:
    """The least history before a first evaluation: every rule's window and recent baseline (a
    seasonal baseline without its earlier weeks falls back to the recent one)."""
    return float(max(t.window_s + t.baseline_s for t in _every_rule(tset)))


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
    retention_s: int = 48 * 3600,
    rollup_s: int = 1800,
) -> BacktestReport:
    """Backtest each named configuration (a list of assignments over ``tset``) over ``since``."""
    if not timedelta(0) < since <= MAX_SINCE:
        raise ThresholdError("since", f"a backtest covers up to {MAX_SINCE.days} days")
    until = now or datetime.now(UTC)
    sets = {name: with_values(tset, assigns) for name, assigns in configs.items()}
    longest = max(history_needed_s(s) for s in sets.values())
    history = load_history(es, pattern, until - since - timedelta(seconds=longest), until, bucket_s)
    days = since.total_seconds() / 86400
    start_s = (until - since).timestamp()
    report = {}
    for name, candidate_set in sets.items():
        fired = simulate(
            history, candidate_set, start_s=start_s, end_s=until.timestamp(), tick_s=tick_s,
            retention_s=retention_s, rollup_s=rollup_s,
        )  # fmt: skip
        window = max(t.window_s for t in _every_rule(candidate_set))
        by_rule = {
            rule: Scores(**score([f for f in fired if f.rule == rule],
                                 [e for e in events or [] if e.rule in (None, rule)], days, window))
            for rule in REGISTRY
        }  # fmt: skip
        report[name] = ConfigurationResult(
            set=configs[name],
            **score(fired, events or [], days, window),
            by_rule=by_rule,
            fired=fired,
        )
    return BacktestReport(
        since=until - since,
        until=until,
        scopes=len(history.counts),
        rules=sorted(REGISTRY),
        configurations=report,
    )
