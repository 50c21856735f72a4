"""What every route of the API depends on: the services it reads and writes, who is calling
(an API key in the ``Authorization: Bearer`` header, declared as the OpenAPI security scheme
so "Authorize" works in ``/docs``), and how bad input is answered."""

from __future__ import annotations

import collections
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated

import redis
import redis.asyncio as aioredis
from elasticsearch import Elasticsearch
from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel

from alerting.alert_store import AlertStore
from alerting.alertmanager import AlertmanagerClient
from alerting.auth import FailedAuthLimiter, KeyRing, Role
from alerting.corrections import CorrectionStore
from alerting.threshold_store import ThresholdStore
from streaming.durations import parse_duration
from streaming.exceptions import StreamingError
from streaming.window_store import WindowStore


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
    alerts_index: str = "undertow-alerts"
    # None: no Alertmanager configured (silences are not offered).
    alertmanager: AlertmanagerClient | None = None
    kibana_url: str = "http://127.0.0.1:5601"
    # Analysts' corrections of model answers (None: not offered).
    corrections: CorrectionStore | None = None


class Caller(BaseModel):
    """Who is calling: their role and a short, non-secret tag of their key."""

    role: Role
    who: str


def unprocessable(loc: list[str], msg: str) -> HTTPException:
    """A 422 naming the field that is wrong, as FastAPI's own validation does."""
    return HTTPException(422, detail=[{"loc": loc, "msg": msg, "type": "value_error"}])


def services_of(request: Request) -> Services:
    """The services the application was built over."""
    services: Services = request.app.state.services
    return services


# Declares the scheme in the OpenAPI document; the checks below are ours (401, not 403).
bearer = HTTPBearer(
    auto_error=False,
    description="An API key: `analyst` keys read and acknowledge, `operator` keys also change "
    "thresholds and run backtests.",
)


def caller(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Caller:
    """Any valid key; 401 without one."""
    key = credentials.credentials.strip() if credentials is not None else ""
    if not key or credentials is None or credentials.scheme.lower() != "bearer":
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
    holder = services_of(request).keyring.holder_of(key)
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
Svc = Annotated[Services, Depends(services_of)]


def duration(text: str, field: str) -> timedelta:
    """A duration like ``15m`` or a 422 naming ``field``."""
    try:
        return parse_duration(text)
    except StreamingError as exc:
        raise unprocessable(["query", field], str(exc)) from exc


def point_in_time(text: str, field: str) -> datetime:
    """An ISO-8601 time, or a duration back from now (``1h``); a 422 naming ``field``."""
    if text[:1].isdigit() and text[-1:] in "smhd" and text[:-1].isdigit():
        return datetime.now(UTC) - duration(text, field)
    try:
        when = datetime.fromisoformat(text)
    except ValueError as exc:
        raise unprocessable(["query", field], "use an ISO-8601 time or a duration like 1h") from exc
    return when if when.tzinfo else when.replace(tzinfo=UTC)
