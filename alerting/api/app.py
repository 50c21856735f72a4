"""The HTTP API and the web page (``undertow alerting serve``; OpenAPI at ``/docs``).

Analysts (``analyst`` keys) read alerts, trends, thresholds and silences, acknowledge and
annotate alerts and silence scopes; operators (``operator`` keys) also change thresholds and run
backtests. Bad input gets a 4xx that names what is wrong; keys travel only in the
``Authorization`` header and are never logged.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import redis
from elasticsearch import ApiError, TransportError
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from pydantic import BaseModel

from alerting.api import alerts, config, documents, silences
from alerting.api.deps import Services, Svc
from alerting.auth import FailedAuthLimiter
from alerting.exceptions import AlertingError
from streaming.exceptions import StreamingError
from streaming.retry import is_transient

log = logging.getLogger(__name__)
WEB = Path(__file__).resolve().parent.parent / "web"
# Request bodies larger than this get 413 (the largest real body, a backtest sweep, is ~10 KB).
MAX_BODY_BYTES = 256 * 1024
service_router = APIRouter()


class Health(BaseModel):
    """Liveness and whether the backing services answer."""

    ok: bool
    redis: bool
    elasticsearch: bool


@service_router.get("/livez")
def livez() -> dict[str, bool]:
    """Liveness: the process serves requests (no backing service is asked, so a slow
    Elasticsearch does not get the evaluator restarted; /healthz is for readiness)."""
    return {"ok": True}


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


def _unavailable(exc: Exception) -> bool:
    """Whether ``exc`` says a backing service is down or not yet ready (503 to the caller)
    rather than that the request or this code is wrong (500 and a traceback in the log)."""
    if isinstance(exc, ApiError | TransportError):
        # An Elasticsearch answer of 5xx (a new index whose shards are still starting, a node
        # leaving) or no answer at all; its 4xx answers would be our bug and stay 500.
        return is_transient(exc)
    return isinstance(exc, redis.RedisError | StreamingError | AlertingError)


async def _count(request: Request, call_next: Callable[[Request], Any]) -> Response:
    try:
        response: Response = await call_next(request)
    except Exception as exc:
        if not _unavailable(exc):
            raise
        log.warning("request failed: %s", type(exc).__name__)
        response = JSONResponse(
            {"detail": "a backing service is unavailable; try again shortly"},
            status_code=503,
            headers={"retry-after": "1"},
        )
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
    app.state.last_tick = Gauge(
        "undertow_alerting_last_tick_timestamp_seconds",
        "When this process's evaluator last finished a tick (Unix time; 0: it has not, e.g. a "
        "standby)",
        registry=app.state.metrics,
    )
    app.state.notification_failures = Counter(
        "undertow_alerting_notification_failures",
        "Notifications a notifier failed to deliver after its retries, by notifier",
        ["notifier"],
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
    for router in (service_router, alerts.router, silences.router, config.router, documents.router):
        app.include_router(router)
    if WEB.is_dir():
        app.mount("/static", StaticFiles(directory=WEB), name="static")
        app.get("/", include_in_schema=False)(lambda: FileResponse(WEB / "index.html"))
    return app
