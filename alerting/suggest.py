"""Threshold suggestions from analysts' verdicts (``undertow thresholds suggest``).

Alerts that analysts marked useful or noise are the labels; the backtest over the same history
is the experiment. Each candidate moves one of the rule's sensitivity thresholds by a factor for
every scope kind at once; the one that keeps the most useful alerts, then fires the fewest
noise alerts, then the fewest alerts in all, is suggested, with its figures beside the current
set's. Nothing changes until an operator saves it (the report gives the command).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from elasticsearch import ApiError, Elasticsearch
from elasticsearch.helpers import scan

from alerting import backtest
from alerting.rules.base import RuleThresholds
from alerting.rules.registry import REGISTRY
from alerting.thresholds import KINDS, ThresholdError, ThresholdSet

FACTORS = (0.8, 1.25, 1.5, 2.0)
# The shared thresholds that decide whether a spike is worth an alert; the rest (windows,
# baselines, cool-down, re-notification, hysteresis) decide when, not whether.
SHARED_KEYS = ("min_docs", "pending_evaluations")
CURRENT = "current"


@dataclass(frozen=True)
class Judged:
    """An alert an analyst judged: where and when it fired, and the verdict."""

    id: str
    rule: str
    scope: str
    fired_at: datetime
    verdict: str


def judged_alerts(
    es: Elasticsearch, index: str, rule: str, since: datetime, until: datetime
) -> list[Judged]:
    """The ``rule``'s judged alerts that fired between ``since`` and ``until``."""
    span = {"gte": since.isoformat(), "lte": until.isoformat()}
    query = {"bool": {"filter": [{"term": {"rule": rule}}, {"range": {"fired_at": span}},
                                 {"exists": {"field": "feedback.verdict"}}]}}  # fmt: skip
    try:
        hits = list(scan(es, index=index, query={"query": query}))
    except ApiError as exc:
        if exc.meta.status == 404:
            return []
        raise
    out = []
    for hit in hits:
        a = hit["_source"]
        value = a["scope"].get("value")
        scope = a["scope"]["kind"] if value is None else f"{a['scope']['kind']}:{value}"
        fired = datetime.fromisoformat(a["fired_at"])
        out.append(Judged(a["id"], rule, scope, fired, a["feedback"]["verdict"]))
    return out


def tunable(rule: str) -> list[str]:
    """The numeric thresholds of ``rule`` that decide whether it fires."""
    model = REGISTRY[rule].thresholds
    own = [
        name
        for name, field in model.model_fields.items()
        if name not in RuleThresholds.model_fields
        and field.annotation in (int, float)
        and not name.startswith("resolve_")
        and name != "baseline_floor"
    ]
    return [*own, *SHARED_KEYS]


def _scaled(value: Any, factor: float) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        return str(max(1, round(value * factor)))
    return f"{value * factor:.4g}"


def candidates(tset: ThresholdSet, rule: str) -> dict[str, list[str]]:
    """Assignments of each candidate (one key scaled for every kind), valid ones only."""
    defaults = tset.of(rule).defaults
    configs: dict[str, list[str]] = {CURRENT: []}
    for key in tunable(rule):
        for factor in FACTORS:
            assigns = [f"{rule}.{kind}.{key}={_scaled(getattr(defaults[kind], key), factor)}"
                       for kind in KINDS if kind in defaults]  # fmt: skip
            try:
                backtest.with_values(tset, assigns)
            except ThresholdError:
                continue  # e.g. a share below its resolve_share
            configs[f"{key} x{factor}"] = assigns
    return configs


def _kept(judged: Judged, fired: list[backtest.FiredAlert], slack_s: float) -> bool:
    return any(
        f.rule == judged.rule and f.scope == judged.scope
        and abs((f.fired_at - judged.fired_at).total_seconds()) <= slack_s
        for f in fired
    )  # fmt: skip


def suggest(
    es: Elasticsearch,
    pattern: str,
    alerts_index: str,
    tset: ThresholdSet,
    rule: str,
    *,
    since: timedelta,
    bucket_s: int,
    tick_s: float,
    now: datetime | None = None,
    retention_s: int = 48 * 3600,
    rollup_s: int = 1800,
) -> dict[str, Any]:
    """The candidates' figures on the judged alerts and the suggested one (None: keep)."""
    if rule not in REGISTRY:
        raise ThresholdError("rule", f"unknown rule {rule!r}; one of {sorted(REGISTRY)}")
    until = now or datetime.now(UTC)
    judged = judged_alerts(es, alerts_index, rule, until - since, until)
    useful = [j for j in judged if j.verdict == "useful"]
    noise = [j for j in judged if j.verdict == "noise"]
    out: dict[str, Any] = {"rule": rule, "since": (until - since).isoformat(),
                           "until": until.isoformat(), "judged": {"useful": len(useful),
                           "noise": len(noise)}, "candidates": [], "suggestion": None}  # fmt: skip
    if not noise:
        out["why"] = "no alert of this rule was judged noise in that time: nothing to drop"
        return out
    configs = candidates(tset, rule)
    report = backtest.run(es, pattern, tset, since=since, bucket_s=bucket_s, tick_s=tick_s,
                          configs=configs, now=until, retention_s=retention_s,
                          rollup_s=rollup_s)  # fmt: skip
    slack_s = max(2 * t.window_s for t in tset.of(rule).defaults.values())
    rows: list[dict[str, Any]] = []
    for name, result in report.configurations.items():
        fired = [f for f in result.fired if f.rule == rule]
        scores = result.by_rule[rule]
        rows.append({
            "name": name, "set": configs[name], "alerts": scores.alerts,
            "alerts_per_day": scores.alerts_per_day,
            "useful_kept": sum(_kept(j, fired, slack_s) for j in useful),
            "noise_kept": sum(_kept(j, fired, slack_s) for j in noise),
        })  # fmt: skip
    rows.sort(key=lambda r: (-r["useful_kept"], r["noise_kept"], r["alerts"], r["name"] != CURRENT))
    current = next(r for r in rows if r["name"] == CURRENT)
    out["current"] = current
    out["candidates"] = rows
    best = rows[0]
    improves = best["useful_kept"] >= current["useful_kept"] and (
        best["noise_kept"] < current["noise_kept"]
    )
    if best["name"] != CURRENT and improves:
        out["suggestion"] = best
        out["apply"] = (
            "undertow thresholds set " + " ".join(best["set"])
            + f" --rule {rule} --reason 'suggested from analysts' verdicts: keeps "
            f"{best['useful_kept']}/{len(useful)} useful, drops "
            f"{len(noise) - best['noise_kept']}/{len(noise)} noise'"
        )  # fmt: skip
    else:
        out["why"] = "no candidate drops noise without losing a useful alert the current set keeps"
    return out
