"""The HTTP API and the web page (``undertow alerting serve``; OpenAPI at ``/docs``).

Analysts (``analyst`` keys) read alerts, trends and thresholds and acknowledge alerts; operators
(``operator`` keys) also change thresholds and run backtests. Bad input gets a 4xx that names
what is wrong; keys travel only in the ``Authorization`` header and are never logged.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import math
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

import redis
import redis.asyncio as aioredis
from elasticsearch import ApiError, Elasticsearch, TransportError
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query, Request
from fastapi.responses import FileResponse, JSONResponse, Response, StreamingResponse
from fastapi.staticfiles import StaticFiles
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from pydantic import BaseModel, ConfigDict, Field, model_validator

from alerting import backtest
from alerting.alert_store import AlertStore
from alerting.auth import FailedAuthLimiter, KeyRing, Role
from alerting.exceptions import AlertingError
from alerting.records import Alert
from alerting.rules.base import RULE_NAME_PATTERN
from alerting.rules.registry import DEFAULT_RULE, REGISTRY
from alerting.threshold_store import ThresholdStore
from alerting.thresholds import ThresholdAudit, ThresholdError, ThresholdSet
from streaming import keys
from streaming.durations import parse_duration
from streaming.exceptions import StreamingError
from streaming.trends import Trend, parse_scope, trend
from streaming.window_store import WindowStore

log = logging.getLogger(__name__)
WEB = Path(__file__).resolve().parent / "web"
# Request bodies larger than this get 413 (the largest real body, a backtest sweep, is ~10 KB).
MAX_BODY_BYTES = 256 * 1024
HEARTBEAT_S = 15.0


@dataclass
class Services:
    """What the API reads and writes, built once by ``alerting.service``."""

    alerts: AlertStore
    thresholds: ThresholdStore
    windows: WindowStore
    redis: redis.Redis
    es: Elasticsearch
    docs_pattern: str
    keyring: KeyRing
    # One asyncio client, one connection pool: each live stream takes a connection from it.
    aio_redis: aioredis.Redis
    prefix: str
    bucket_s: int
    tick_s: float
    streams: StreamSlots
    retention_s: int = 48 * 3600
    rollup_s: int = 1800


class StreamSlots:
    """Live streams open at once, per key and in all; a stream beyond either is refused."""

    def __init__(self, per_key: int, total: int) -> None:
        self.per_key, self.total = per_key, total
        self._open: collections.Counter[str] = collections.Counter()

    def take(self, who: str) -> None:
        """Reserve a stream for ``who``, or raise 429."""
        if self._open[who] >= self.per_key:
            raise HTTPException(429, f"this key has {self.per_key} live streams open already")
        if sum(self._open.values()) >= self.total:
            raise HTTPException(429, f"the service has {self.total} live streams open already",
                                headers={"Retry-After": "30"})  # fmt: skip
        self._open[who] += 1

    def give_back(self, who: str) -> None:
        """A stream of ``who`` has ended."""
        self._open[who] -= 1
        if self._open[who] <= 0:
            del self._open[who]


class Caller(BaseModel):
    """Who is calling: their role and a short, non-secret tag of their key."""

    role: Role
    who: str


RuleName = Annotated[str, Field(pattern=RULE_NAME_PATTERN)]


class ThresholdChange(BaseModel):
    """The body of ``PUT /api/thresholds``: a change of one rule's thresholds."""

    model_config = ConfigDict(extra="forbid")

    rule: RuleName = DEFAULT_RULE
    defaults: dict[str, dict[str, Any]] | None = None
    overrides: dict[str, dict[str, Any] | None] | None = None
    reason: str = Field(min_length=1, max_length=2000)


MAX_SWEEP = 24


class BacktestRequest(BaseModel):
    """The body of ``POST /api/backtest``."""

    model_config = ConfigDict(extra="forbid")

    since: str = Field(default="7d", max_length=32)
    set: list[Annotated[str, Field(max_length=200)]] = Field(default=[], max_length=32)
    # At most MAX_SWEEP configurations in all: each is a replay of the whole history.
    sweep: dict[Annotated[str, Field(max_length=200)], list[float]] = Field(
        default={}, max_length=8
    )
    events: list[backtest.LabelledEvent] = Field(default=[], max_length=5000)
    # Defaults of ``rule`` to try instead of the current ones (with ``set`` on top).
    defaults: dict[str, dict[str, Any]] | None = None
    rule: RuleName = DEFAULT_RULE

    @model_validator(mode="after")
    def _bounded_sweep(self) -> BacktestRequest:
        count = sum(len(values) for values in self.sweep.values())
        if count > MAX_SWEEP:
            raise ValueError(f"sweep: {count} values; a backtest tries at most {MAX_SWEEP}")
        return self


class Health(BaseModel):
    """Liveness and whether the backing services answer."""

    ok: bool
    redis: bool
    elasticsearch: bool


class AlertPage(BaseModel):
    """A page of alerts, newest first, with the total that matched."""

    items: list[Alert]
    total: int
    limit: int
    offset: int


class ThresholdHistory(BaseModel):
    """Threshold changes, newest first."""

    items: list[ThresholdAudit]


class RuleInfo(BaseModel):
    """A registered alert rule, as ``GET /api/rules`` lists it."""

    name: str
    summary: str
    thresholds: dict[str, Any]  # the JSON schema of its thresholds model
    defaults: dict[str, dict[str, Any]]  # the current defaults per scope kind


def _unprocessable(loc: list[str], msg: str) -> HTTPException:
    return HTTPException(422, detail=[{"loc": loc, "msg": msg, "type": "value_error"}])


def _services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


def caller(request: Request) -> Caller:
    """Any valid key; 401 without one."""
    header = request.headers.get("authorization", "")
    scheme, _, key = header.partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise HTTPException(
            401,
            "an API key is required: Authorization: Bearer KEY",
            headers={"WWW-Authenticate": "Bearer"},
        )
    limiter: FailedAuthLimiter = request.app.state.failed_auth
    client = request.client.host if request.client else "unknown"
    wait = limiter.retry_after(client)
    if wait > 0:
        raise HTTPException(
            429,
            "too many failed authentications from this address; try again later",
            headers={"Retry-After": str(math.ceil(wait))},
        )
    holder = _services(request).keyring.holder_of(key.strip())
    if holder is None:
        limiter.failed(client)
        raise HTTPException(401, "unknown API key", headers={"WWW-Authenticate": "Bearer"})
    return Caller(role=holder.role, who=f"{holder.role}:{holder.entry_id}")


def operator(who: Annotated[Caller, Depends(caller)]) -> Caller:
    """An operator key; 403 for an analyst key."""
    if who.role != "operator":
        raise HTTPException(403, "this needs an operator key")
    return who


Analyst = Annotated[Caller, Depends(caller)]
Operator = Annotated[Caller, Depends(operator)]
Svc = Annotated[Services, Depends(_services)]
service_router = APIRouter()
alerts_router = APIRouter(prefix="/api")
config_router = APIRouter(prefix="/api")


@service_router.get("/healthz")
def healthz(services: Svc) -> Health:
    """Liveness and the backing services' reachability (no key needed)."""
    try:
        redis_ok = bool(services.redis.ping())
    except redis.RedisError:
        redis_ok = False
    try:
        es_ok = services.es.cluster.health(timeout="2s")["status"] in ("green", "yellow")
    except (ApiError, TransportError):
        es_ok = False
    return Health(ok=redis_ok and es_ok, redis=redis_ok, elasticsearch=es_ok)


@service_router.get("/metrics")
def prometheus(request: Request) -> Response:
    """Prometheus metrics of the API."""
    return Response(generate_latest(request.app.state.metrics), media_type=CONTENT_TYPE_LATEST)


@alerts_router.get("/alerts")
def list_alerts(  # noqa: PLR0917 (FastAPI query parameters)
    services: Svc,
    _: Analyst,
    state: Literal["pending", "firing", "resolved"] | None = None,
    scope: str | None = None,
    severity: Literal["warning", "critical"] | None = None,
    since: Annotated[str | None, Query(description="ISO-8601 time or a duration like 1h")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> AlertPage:
    """Alerts, newest first, filtered and paginated: ``{"items": [...], "total": n}``."""
    start = _since(since) if since else None
    try:
        wanted = parse_scope(scope) if scope else None
    except StreamingError as exc:
        raise _unprocessable(["query", "scope"], str(exc)) from exc
    found = [
        a
        for a in services.alerts.recent(start)
        if (state is None or a.state == state)
        and (severity is None or a.severity == severity)
        and (wanted is None or a.scope.name == wanted)
    ]
    items = found[offset : offset + limit]
    return AlertPage(items=items, total=len(found), limit=limit, offset=offset)


@alerts_router.get("/alerts/stream")
async def stream(services: Svc, who: Analyst) -> StreamingResponse:
    """Server-sent events: every alert event as it happens (``event: alert``); at most
    ``alerting.max_streams_per_key`` open per key (429 beyond)."""
    services.streams.take(who.who)
    return StreamingResponse(
        _events(services, who.who),
        media_type="text/event-stream",
        headers={"cache-control": "no-cache", "x-accel-buffering": "no"},
    )


@alerts_router.get("/alerts/{alert_id}")
def get_alert(alert_id: str, services: Svc, _: Analyst) -> Alert:
    """One alert."""
    alert = services.alerts.get(alert_id)
    if alert is None:
        raise HTTPException(404, f"no alert {alert_id}")
    return alert


@alerts_router.post("/alerts/{alert_id}/ack")
def ack(alert_id: str, services: Svc, who: Analyst) -> Alert:
    """Acknowledge an alert (recorded with who and when). Only the acknowledgement changes,
    on the alert as stored now; an alert acknowledged already keeps its first acknowledger."""
    acked = services.alerts.acknowledge(alert_id, who.who, datetime.now(UTC))
    if acked is None:
        raise HTTPException(404, f"no alert {alert_id}")
    return acked


@alerts_router.get("/trends")
def trends(
    services: Svc,
    _: Analyst,
    scope: str = "all",
    window: Annotated[str, Query(description="e.g. 15m, 1h, 1d")] = "1h",
) -> Trend:
    """Sentiment counts of a scope over a window ending now, with the per-bucket series."""
    try:
        name = parse_scope(scope)
    except StreamingError as exc:
        raise _unprocessable(["query", "scope"], str(exc)) from exc
    seconds = _duration(window, "window")
    if seconds.total_seconds() > services.retention_s:
        raise _unprocessable(
            ["query", "window"], f"longer than the windows' retention ({services.retention_s} s)"
        )
    return trend(services.windows, name, int(seconds.total_seconds()), time.time())


@config_router.get("/rules")
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


@config_router.get("/thresholds")
def get_thresholds(services: Svc, _: Analyst) -> ThresholdSet:
    """The current threshold set: ``version`` and per rule ``defaults`` per scope kind and
    ``overrides`` per scope."""
    return services.thresholds.current()


@config_router.put("/thresholds")
def put_thresholds(change: ThresholdChange, services: Svc, who: Operator) -> ThresholdSet:
    """Change thresholds (merged over the current ones); effective at the next evaluation."""
    try:
        new = services.thresholds.change(
            change.defaults, change.overrides, by=who.who, reason=change.reason, rule=change.rule
        )
    except ThresholdError as exc:
        raise _unprocessable(["body", *exc.field.split(".")], exc.message) from exc
    log.info("thresholds changed to version %d by %s", new.version, who.who)
    return new


@config_router.get("/thresholds/history")
def history(
    services: Svc, _: Analyst, limit: Annotated[int, Query(ge=1, le=1000)] = 100
) -> ThresholdHistory:
    """Threshold changes, newest first: version, at, by, reason, old and new."""
    entries = services.thresholds.history(limit)
    return ThresholdHistory(items=[ThresholdAudit.model_validate(e) for e in entries])


@config_router.post("/backtest", response_model_exclude_unset=True)
def run_backtest(body: BacktestRequest, services: Svc, _: Operator) -> backtest.BacktestReport:
    """What the current (or given) thresholds, and variations of them, would have fired."""
    tset = services.thresholds.current()
    try:
        if body.defaults is not None:
            tset = backtest.candidate(tset, body.defaults, body.rule)
        sweep = {key: [f"{v:g}" for v in values] for key, values in body.sweep.items()}
        configs = backtest.configurations(body.set, sweep)
        return backtest.run(
            services.es,
            services.docs_pattern,
            tset,
            since=_duration(body.since, "since"),
            bucket_s=services.bucket_s,
            tick_s=services.tick_s,
            configs=configs,
            events=body.events,
            retention_s=services.retention_s,
            rollup_s=services.rollup_s,
        )
    except ThresholdError as exc:
        raise _unprocessable(["body", *exc.field.split(".")], exc.message) from exc


# The page loads its own script and style only; nothing inline, nothing from elsewhere, no
# framing. With the page building every value as text, data cannot run as script.
SECURITY_HEADERS = {
    "content-security-policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
}


# FastAPI's own documentation pages load Swagger UI and ReDoc from their CDN and run inline
# script; they show no data, so they keep every header but the policy.
_DOCS_PAGES = ("/docs", "/docs/oauth2-redirect", "/redoc")


async def _secure(request: Request, call_next: Callable[[Request], Any]) -> Response:
    response: Response = await call_next(request)
    for name, value in SECURITY_HEADERS.items():
        if name == "content-security-policy" and request.url.path in _DOCS_PAGES:
            continue
        response.headers.setdefault(name, value)
    return response


async def _count(request: Request, call_next: Callable[[Request], Any]) -> Response:
    try:
        response: Response = await call_next(request)
    except (redis.RedisError, StreamingError, AlertingError) as exc:
        log.warning("request failed: %s", type(exc).__name__)
        response = JSONResponse({"detail": "a backing service is unavailable"}, status_code=503)
    route = request.scope.get("route")
    request.app.state.requests.labels(
        getattr(route, "path", "other"), str(response.status_code)
    ).inc()
    return response


class BodyLimit:
    """ASGI middleware: 413 for a request body over ``limit`` bytes, whether or not it says its
    length, before the application reads it."""

    def __init__(self, app: Any, limit: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await self._refuse(send)
            return
        seen = 0
        too_large = False

        async def counted_receive() -> Any:
            nonlocal seen, too_large
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    too_large = True  # the app sees a client that went away
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Any) -> None:
            if not too_large:  # whatever the app answers to the cut body is replaced
                await send(message)

        try:
            await self.app(scope, counted_receive, guarded_send)
        except Exception:
            if not too_large:
                raise
        if too_large:
            await self._refuse(send)

    async def _refuse(self, send: Any) -> None:
        body = b'{"detail":"request body too large (limit %d bytes)"}' % self.limit
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": body})


def create_app(services: Services) -> FastAPI:
    """The FastAPI application over ``services``."""
    app = FastAPI(title="undertow alerting", version="1", description=__doc__)
    app.state.services = services
    app.state.metrics = CollectorRegistry()
    # Clients that keep presenting wrong keys are refused for a while (429).
    app.state.failed_auth = FailedAuthLimiter()
    app.state.requests = Counter(
        "undertow_api_requests", "API requests", ["path", "status"], registry=app.state.metrics
    )
    # Counted by the evaluator that runs beside the API (alerting.service.serve).
    app.state.alert_events = Counter(
        "undertow_alert_events",
        "Alert events notified (fired, escalated, sustained, resolved)",
        ["event", "severity"],
        registry=app.state.metrics,
    )
    app.state.tick_seconds = Histogram(
        "undertow_alerting_tick_seconds",
        "Time one evaluator tick took (every rule on every scope)",
        buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
        registry=app.state.metrics,
    )
    app.state.scopes = Gauge(
        "undertow_alerting_scopes",
        "Scopes the last tick evaluated, by kind (bounded by streaming.max_scopes)",
        ["kind"],
        registry=app.state.metrics,
    )
    app.state.scope_failures = Counter(
        "undertow_alerting_scope_failures",
        "Evaluations of one rule on one scope that failed (logged; the tick went on)",
        registry=app.state.metrics,
    )
    app.middleware("http")(_count)
    app.middleware("http")(_secure)
    app.add_middleware(BodyLimit)
    for router in (service_router, alerts_router, config_router):
        app.include_router(router)
    if WEB.is_dir():
        app.mount("/static", StaticFiles(directory=WEB), name="static")
        app.get("/", include_in_schema=False)(lambda: FileResponse(WEB / "index.html"))
    return app


def _duration(text: str, field: str) -> timedelta:
    try:
        return parse_duration(text)
    except StreamingError as exc:
        raise _unprocessable(["query", field], str(exc)) from exc


def _since(text: str) -> datetime:
    if text[:1].isdigit() and text[-1:] in "smhd" and text[:-1].isdigit():
        return datetime.now(UTC) - _duration(text, "since")
    try:
        when = datetime.fromisoformat(text)
    except ValueError as exc:
        raise _unprocessable(
            ["query", "since"], "use an ISO-8601 time or a duration like 1h"
        ) from exc
    return when if when.tzinfo else when.replace(tzinfo=UTC)


async def _events(services: Services, who: str) -> AsyncIterator[bytes]:
    pubsub = services.aio_redis.pubsub()  # no I/O yet: a connection is taken on subscribe
    try:
        await pubsub.subscribe(keys.alert_events_channel(services.prefix))
        yield b": connected\n\n"
        last = time.monotonic()
        while True:
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
            if message is not None:
                data = message["data"]
                body = data if isinstance(data, bytes) else str(data).encode()
                yield b"event: alert\ndata: " + body + b"\n\n"
                last = time.monotonic()
            elif time.monotonic() - last >= HEARTBEAT_S:
                yield b": keep-alive\n\n"
                last = time.monotonic()
            await asyncio.sleep(0)
    finally:
        services.streams.give_back(who)  # the slot taken when the stream was opened
        await pubsub.aclose()  # type: ignore[no-untyped-call]
