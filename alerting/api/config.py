"""The routes of what the alerts are made from: trends of a scope, the rules, the thresholds
(read by analysts, changed by operators), their history, and the backtest."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from alerting import backtest
from alerting.api.deps import Analyst, Operator, Svc, duration, point_in_time, unprocessable
from alerting.rules.base import RULE_NAME_PATTERN
from alerting.rules.registry import DEFAULT_RULE, REGISTRY
from alerting.thresholds import ThresholdAudit, ThresholdError, ThresholdSet
from streaming.exceptions import StreamingError
from streaming.trends import Trend, parse_scope, trend

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api")
RuleName = Annotated[str, Field(pattern=RULE_NAME_PATTERN)]
MAX_SWEEP = 24


class ThresholdChange(BaseModel):
    """The body of ``PUT /api/thresholds``: a change of one rule's thresholds."""

    model_config = ConfigDict(extra="forbid")

    rule: RuleName = DEFAULT_RULE
    defaults: dict[str, dict[str, Any]] | None = None
    overrides: dict[str, dict[str, Any] | None] | None = None
    reason: str = Field(min_length=1, max_length=2000)


class BacktestRequest(BaseModel):
    """The body of ``POST /api/backtest``."""

    model_config = ConfigDict(extra="forbid")

    since: str = Field(default="7d", max_length=32)
    # The end of the period (default: now); two backtests to compare share it, so their
    # simulated ticks fall at the same times.
    until: AwareDatetime | None = None
    set: list[Annotated[str, Field(max_length=200)]] = Field(default=[], max_length=32)
    # At most MAX_SWEEP configurations in all: each is a replay of the whole history.
    sweep: dict[Annotated[str, Field(max_length=200)], list[float]] = Field(
        default={}, max_length=8
    )
    events: list[backtest.LabelledEvent] = Field(default=[], max_length=5000)
    # Defaults and per-scope overrides of ``rule`` to try instead of the current ones (with
    # ``set`` on top); an override of None removes that scope's.
    defaults: dict[str, dict[str, Any]] | None = None
    overrides: dict[Annotated[str, Field(max_length=300)], dict[str, Any] | None] | None = Field(
        default=None, max_length=200
    )
    rule: RuleName = DEFAULT_RULE

    @model_validator(mode="after")
    def _bounded_sweep(self) -> BacktestRequest:
        count = sum(len(values) for values in self.sweep.values())
        if count > MAX_SWEEP:
            raise ValueError(f"sweep: {count} values; a backtest tries at most {MAX_SWEEP}")
        return self


class ThresholdHistory(BaseModel):
    """Threshold changes, newest first."""

    items: list[ThresholdAudit]


class RuleInfo(BaseModel):
    """A registered alert rule, as ``GET /api/rules`` lists it."""

    name: str
    summary: str
    thresholds: dict[str, Any]  # the JSON schema of its thresholds model
    defaults: dict[str, dict[str, Any]]  # the current defaults per scope kind


@router.get("/trends")
def trends(
    services: Svc,
    _: Analyst,
    scope: str = "all",
    window: Annotated[str, Query(description="e.g. 15m, 1h, 1d")] = "1h",
    end: Annotated[str | None, Query(description="ISO-8601 time or a duration ago")] = None,
) -> Trend:
    """Sentiment counts of a scope over a window ending now (or at ``end``), with the
    per-bucket series."""
    try:
        name = parse_scope(scope)
    except StreamingError as exc:
        raise unprocessable(["query", "scope"], str(exc)) from exc
    seconds = duration(window, "window").total_seconds()
    end_s = point_in_time(end, "end").timestamp() if end else time.time()
    if seconds > services.retention_s or end_s - seconds < time.time() - services.retention_s:
        raise unprocessable(
            ["query", "window"], f"reaches past the windows' retention ({services.retention_s} s)"
        )
    return trend(services.windows, name, int(seconds), min(end_s, time.time()))


@router.get("/rules")
def list_rules(services: Svc, _: Analyst) -> list[RuleInfo]:
    """The alert rules the evaluator runs, with their thresholds' schema and current defaults."""
    tset = services.thresholds.current()
    return [
        RuleInfo(
            name=name,
            summary=rule.summary,
            thresholds=rule.thresholds.model_json_schema(),
            defaults={k: t.model_dump(mode="json") for k, t in tset.of(name).defaults.items()},
        )
        for name, rule in REGISTRY.items()
    ]


@router.get("/thresholds")
def get_thresholds(services: Svc, _: Analyst) -> ThresholdSet:
    """The current threshold set: ``version`` and per rule ``defaults`` per scope kind and
    ``overrides`` per scope."""
    return services.thresholds.current()


@router.put("/thresholds")
def put_thresholds(change: ThresholdChange, services: Svc, who: Operator) -> ThresholdSet:
    """Change thresholds (merged over the current ones); effective at the next evaluation."""
    try:
        new = services.thresholds.change(
            change.defaults, change.overrides, by=who.who, reason=change.reason, rule=change.rule
        )
    except ThresholdError as exc:
        raise unprocessable(["body", *exc.field.split(".")], exc.message) from exc
    log.info("thresholds changed to version %d by %s", new.version, who.who)
    return new


@router.get("/thresholds/history")
def history(
    services: Svc, _: Analyst, limit: Annotated[int, Query(ge=1, le=1000)] = 100
) -> ThresholdHistory:
    """Threshold changes, newest first: version, at, by, reason, old and new."""
    entries = services.thresholds.history(limit)
    return ThresholdHistory(items=[ThresholdAudit.model_validate(e) for e in entries])


@router.post("/backtest", response_model_exclude_unset=True)
def run_backtest(body: BacktestRequest, services: Svc, _: Operator) -> backtest.BacktestReport:
    """What the current (or given) thresholds, and variations of them, would have fired."""
    tset = services.thresholds.current()
    try:
        if body.defaults is not None or body.overrides is not None:
            tset = backtest.candidate(tset, body.defaults, body.rule, body.overrides)
        sweep = {key: [f"{v:g}" for v in values] for key, values in body.sweep.items()}
        configs = backtest.configurations(body.set, sweep)
        return backtest.run(
            services.es,
            services.docs_pattern,
            tset,
            since=duration(body.since, "since"),
            bucket_s=services.bucket_s,
            tick_s=services.tick_s,
            configs=configs,
            events=body.events,
            retention_s=services.retention_s,
            rollup_s=services.rollup_s,
            now=_until(body.until),
        )
    except ThresholdError as exc:
        raise unprocessable(["body", *exc.field.split(".")], exc.message) from exc


def _until(until: datetime | None) -> datetime | None:
    """The end of a backtest: at most now (the future has no history)."""
    if until is None:
        return None
    if until > datetime.now(UTC) + timedelta(minutes=1):
        raise unprocessable(["body", "until"], "must not be in the future")
    return until
