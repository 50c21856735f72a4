"""The alert routes: history with filters and pages, one alert, acknowledge, unacknowledge,
notes, the live feed (server-sent events with ids, resumed with ``Last-Event-ID``), and who
is calling."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from elasticsearch import ApiError
from fastapi import APIRouter, Header, HTTPException, Query
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from alerting.api.deps import Analyst, Services, Svc, point_in_time, unprocessable
from alerting.history import AlertQuery, HistoryError, HistoryPage, search
from alerting.history import get as indexed_alert
from alerting.records import MAX_NOTE_CHARS, Alert, Feedback, ScopeKind, Verdict
from alerting.rules.base import Severity
from streaming import keys
from streaming.exceptions import StreamingError
from streaming.retry import is_transient
from streaming.trends import parse_scope

router = APIRouter(prefix="/api")
HEARTBEAT_S = 15.0
# A Redis stream id, as the feed gives them to pages.
_EVENT_ID = re.compile(r"^\d{1,20}-\d{1,20}$")


class Me(BaseModel):
    """Who the key belongs to: its role (``analyst`` or ``operator``) and a non-secret tag."""

    role: Literal["analyst", "operator"]
    who: str


class NoteBody(BaseModel):
    """The body of ``POST /api/alerts/{id}/notes``."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=MAX_NOTE_CHARS)


@router.get("/me")
def me(who: Analyst) -> Me:
    """The caller's role, so a page shows only what the key may do."""
    return Me(role=who.role, who=who.who)


@router.get("/alerts")
def list_alerts(  # noqa: PLR0917 (FastAPI query parameters)
    services: Svc,
    _: Analyst,
    state: Literal["pending", "firing", "resolved"] | None = None,
    severity: Severity | None = None,
    rule: Annotated[str | None, Query(max_length=64)] = None,
    scope_kind: ScopeKind | None = None,
    scope: Annotated[str | None, Query(description="all, topic:X, ticker:X or source:X")] = None,
    incident: Annotated[str | None, Query(max_length=64)] = None,
    acknowledged: bool | None = None,
    feedback: Literal["useful", "noise", "none"] | None = None,
    q: Annotated[str | None, Query(max_length=500, description="free text")] = None,
    since: Annotated[str | None, Query(description="ISO-8601 time or a duration like 1h")] = None,
    until: Annotated[str | None, Query(description="ISO-8601 time or a duration like 1h")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000)] = 0,
    cursor: Annotated[str | None, Query(max_length=500, description="`next` of a page")] = None,
) -> HistoryPage:
    """Alerts from the alert history (Elasticsearch), newest first, filtered, a page at a
    time: ``offset`` for the first 10,000, then the ``next`` cursor of each page, as far back
    as the index goes."""
    try:
        wanted = parse_scope(scope) if scope else None
    except StreamingError as exc:
        raise unprocessable(["query", "scope"], str(exc)) from exc
    query = AlertQuery(
        state=state, severity=severity, rule=rule, scope_kind=scope_kind, scope=wanted,
        incident=incident, acknowledged=acknowledged, feedback=feedback, text=q,
        since=point_in_time(since, "since") if since else None,
        until=point_in_time(until, "until") if until else None,
        limit=limit, offset=offset, cursor=cursor,
    )  # fmt: skip
    try:
        return search(services.es, services.alerts_index, query)
    except HistoryError as exc:
        field, _sep, msg = str(exc).partition(": ")
        raise unprocessable(["query", field], msg) from exc


@router.get("/alerts/stream")
async def stream(
    services: Svc,
    who: Analyst,
    last_event_id: Annotated[str | None, Header(max_length=64)] = None,
) -> StreamingResponse:
    """Server-sent events: every alert event as it happens (``event: alert``, with an ``id``);
    a client that reconnects with ``Last-Event-ID`` gets what it missed first, or ``event:
    reset`` when that is no longer kept (reload the list). At most
    ``alerting.max_streams_per_key`` open per key (429 beyond)."""
    after = last_event_id if last_event_id and _EVENT_ID.match(last_event_id) else None
    services.streams.take(who.who)
    return StreamingResponse(
        _events(services, who.who, after),
        media_type="text/event-stream",
        headers={"cache-control": "no-cache", "x-accel-buffering": "no"},
    )


@router.get("/alerts/{alert_id}")
def get_alert(alert_id: str, services: Svc, _: Analyst) -> Alert:
    """One alert: as the evaluator keeps it now, or as the history last indexed it."""
    alert = services.alerts.get(alert_id)
    if alert is None:
        try:
            alert = indexed_alert(services.es, services.alerts_index, alert_id)
        except ApiError as exc:  # an id Elasticsearch refuses is no alert of ours
            if is_transient(exc):
                raise  # down or not ready: 503, not "no such alert"
            alert = None
    if alert is None:
        raise HTTPException(404, f"no alert {alert_id}")
    return alert


def _found(alert: Alert | None, alert_id: str) -> Alert:
    if alert is None:
        raise HTTPException(404, f"no alert {alert_id}")
    return alert


@router.post("/alerts/{alert_id}/ack")
def ack(alert_id: str, services: Svc, who: Analyst) -> Alert:
    """Acknowledge an alert: no re-notification until it escalates or resolves (in
    Alertmanager, a silence of this alert at its severity). Recorded with who and when; an
    acknowledgement in force keeps its first acknowledger."""
    return _found(services.alerts.acknowledge(alert_id, who.who, datetime.now(UTC)), alert_id)


@router.delete("/alerts/{alert_id}/ack")
def unack(alert_id: str, services: Svc, who: Analyst) -> Alert:
    """End the acknowledgement: re-notification resumes (recorded with who and when)."""
    return _found(services.alerts.unacknowledge(alert_id, who.who, datetime.now(UTC)), alert_id)


@router.post("/alerts/{alert_id}/notes")
def note(alert_id: str, body: NoteBody, services: Svc, who: Analyst) -> Alert:
    """Add a note to an alert (kept with who and when, shown on the page, indexed)."""
    added = services.alerts.note(alert_id, who.who, datetime.now(UTC), body.text)
    return _found(added, alert_id)


class FeedbackBody(BaseModel):
    """The body of ``POST /api/alerts/{id}/feedback``."""

    model_config = ConfigDict(extra="forbid")

    verdict: Verdict
    note: str | None = Field(default=None, max_length=MAX_NOTE_CHARS)


@router.post("/alerts/{alert_id}/feedback")
def feedback(alert_id: str, body: FeedbackBody, services: Svc, who: Analyst) -> Alert:
    """Say whether an alert was useful or noise (analyst key; the latest verdict counts). It is
    kept on the alert with who and when, indexed, and read by `undertow thresholds suggest`."""
    at = datetime.now(UTC)
    judged = services.alerts.judge(alert_id, who.who, at, body.verdict, body.note)
    if judged is not None:
        return judged
    # Gone from the live store (older than its retention): the history's copy takes it; the
    # evaluator no longer writes that alert, so nothing overwrites it.
    old = _found(indexed_alert(services.es, services.alerts_index, alert_id), alert_id)
    verdict = Feedback(verdict=body.verdict, by=who.who, at=at, note=body.note)
    services.es.update(index=services.alerts_index, id=alert_id, refresh="wait_for",
                       doc={"feedback": verdict.model_dump(mode="json")})  # fmt: skip
    return old.model_copy(update={"feedback": verdict})


async def _start(services: Services, after: str | None) -> tuple[str, bytes]:
    """Where to read the feed from, and what to tell the client first: the id it has seen up
    to (so a client that reconnects before any event resumes from there too)."""
    feed = keys.alert_feed_key(services.prefix)
    client: Any = services.aio_redis  # redis-py's stream replies are loosely typed
    newest = await client.xrevrange(feed, count=1)
    latest = _text(newest[0][0]) if newest else "0-0"
    if after is None:
        return latest, f"id: {latest}\n: connected\n\n".encode()
    if newest and await _may_have_missed(client, feed, after):
        # Events after the client's last one may have been trimmed: it reloads the list.
        return latest, f"id: {latest}\nevent: reset\ndata: {{}}\n\n".encode()
    return after, b": resumed\n\n"


async def _may_have_missed(client: Any, feed: str, after: str) -> bool:
    """Whether the feed was trimmed past ``after`` (it keeps the newest events only): the
    oldest kept is newer than it, and some were trimmed at all."""
    info = await client.xinfo_stream(feed)
    if int(info.get("entries-added") or 0) <= int(info.get("length") or 0):
        return False
    first = info.get("first-entry")
    return bool(first) and _order(after) < _order(_text(first[0]))


def _order(event_id: str) -> tuple[int, int]:
    ms, _, seq = event_id.partition("-")
    return int(ms), int(seq or 0)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


async def _events(services: Services, who: str, after: str | None) -> AsyncIterator[bytes]:
    feed = keys.alert_feed_key(services.prefix)
    client: Any = services.aio_redis
    try:
        cursor, first = await _start(services, after)
        yield first
        last = time.monotonic()
        while True:
            found = await client.xread({feed: cursor}, count=100, block=1000)
            for _, entries in found or []:
                for entry_id, fields in entries:
                    cursor = _text(entry_id)
                    data = fields.get(b"data", fields.get("data", b""))
                    body = data if isinstance(data, bytes) else str(data).encode()
                    yield f"id: {cursor}\nevent: alert\ndata: ".encode() + body + b"\n\n"
                    last = time.monotonic()
            if time.monotonic() - last >= HEARTBEAT_S:
                yield b": keep-alive\n\n"
                last = time.monotonic()
            await asyncio.sleep(0)
    finally:
        services.streams.give_back(who)  # the slot taken when the stream was opened
