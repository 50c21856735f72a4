"""Silences, through Alertmanager's API: list the ones that can match this deployment's alerts,
silence a scope for a while ("earnings day on ticker:X, 4 h"), expire one. Analysts may do
all three (the desk silences what it has in hand); every silence names who made it and why."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

import httpx
from fastapi import APIRouter, HTTPException, Path
from pydantic import BaseModel, ConfigDict, Field, model_validator

from alerting.alertmanager import (
    AlertmanagerClient,
    AlertmanagerError,
    Silence,
    ours,
    scope_matchers,
)
from alerting.api.deps import Analyst, Services, Svc, unprocessable
from alerting.records import Scope
from alerting.rules.base import RULE_NAME_PATTERN
from streaming.durations import parse_duration
from streaming.exceptions import StreamingError
from streaming.retry import TransientHTTPStatus
from streaming.trends import parse_scope

router = APIRouter(prefix="/api")
# A silence lasts at most this long: a forgotten one should not hide a desk's alerts for good.
MAX_SILENCE = timedelta(days=30)


class SilenceRequest(BaseModel):
    """The body of ``POST /api/silences``: a scope, optionally one rule, for a while."""

    model_config = ConfigDict(extra="forbid")

    scope: str = Field(max_length=300, examples=["ticker:ACME"])
    rule: Annotated[str, Field(pattern=RULE_NAME_PATTERN)] | None = None
    duration: str = Field(default="4h", max_length=16, description="e.g. 30m, 4h, 2d")
    reason: str = Field(min_length=1, max_length=2000)

    @model_validator(mode="after")
    def _readable(self) -> SilenceRequest:
        try:
            parse_scope(self.scope)
            seconds = parse_duration(self.duration)
        except StreamingError as exc:
            raise ValueError(str(exc)) from exc
        if not timedelta(0) < seconds <= MAX_SILENCE:
            raise ValueError(f"duration must be above 0 and at most {MAX_SILENCE.days} days")
        return self


class SilenceList(BaseModel):
    """The silences that can match this deployment's alerts, active and pending first."""

    items: list[Silence]


def _client(services: Services) -> AlertmanagerClient:
    if services.alertmanager is None:
        raise HTTPException(404, "no Alertmanager is configured (alerting.alertmanager.url)")
    return services.alertmanager


def _unavailable(exc: Exception) -> HTTPException:
    return HTTPException(503, f"Alertmanager is unavailable: {type(exc).__name__}")


@router.get("/silences")
def list_silences(services: Svc, _: Analyst, expired: bool = False) -> SilenceList:
    """Silences that can match this deployment's alerts (``expired``: the recently expired
    too), in force first, then by end."""
    try:
        found = _client(services).silences()
    except (httpx.HTTPError, TransientHTTPStatus, AlertmanagerError) as exc:
        raise _unavailable(exc) from exc
    items = [s for s in found if ours(s, services.prefix) and (expired or s.state != "expired")]
    order = {"active": 0, "pending": 1, "expired": 2}
    return SilenceList(items=sorted(items, key=lambda s: (order[s.state], s.ends_at)))


@router.post("/silences", status_code=201)
def create_silence(body: SilenceRequest, services: Svc, who: Analyst) -> Silence:
    """Silence every alert of a scope (of one rule, if given) for ``duration``."""
    client = _client(services)
    try:
        scope = Scope.parse(parse_scope(body.scope))
    except (StreamingError, ValueError) as exc:
        raise unprocessable(["body", "scope"], str(exc)) from exc
    now = datetime.now(UTC)
    matchers = scope_matchers(services.prefix, scope, body.rule)
    try:
        silence_id = client.create_silence(
            matchers, now, now + parse_duration(body.duration), who.who, body.reason
        )
        created = client.silence(silence_id)
    except (httpx.HTTPError, TransientHTTPStatus, AlertmanagerError) as exc:
        raise _unavailable(exc) from exc
    if created is None:
        raise HTTPException(503, "Alertmanager did not keep the silence")
    return created


# Alertmanager's silence ids are UUIDs.
SilenceId = Annotated[str, Path(pattern=r"^[0-9a-fA-F-]{1,64}$")]


@router.delete("/silences/{silence_id}")
def expire_silence(silence_id: SilenceId, services: Svc, _: Analyst) -> Silence:
    """Expire a silence now (one of this deployment's, or one that names no deployment)."""
    client = _client(services)
    try:
        silence = client.silence(silence_id)
        if silence is None or not ours(silence, services.prefix):
            raise HTTPException(404, f"no silence {silence_id}")
        if silence.state != "expired":
            client.expire_silence(silence_id)
        expired = client.silence(silence_id)
    except (httpx.HTTPError, TransientHTTPStatus, AlertmanagerError) as exc:
        raise _unavailable(exc) from exc
    return expired or silence
