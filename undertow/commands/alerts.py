"""``undertow alerts list | show | ack | unack | note | silence | silences | unsilence``: the
alert desk from a terminal, over the same stores as the API (the history in Elasticsearch, the
live alerts in Redis, silences in Alertmanager). Changes are recorded as ``cli:<user>``."""

from __future__ import annotations

import getpass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import orjson
import typer
from rich.console import Console
from rich.table import Table

from alerting.alert_store import RedisAlertStore
from alerting.alertmanager import AlertmanagerClient, ours, scope_matchers
from alerting.history import AlertQuery, HistoryError, search
from alerting.history import get as indexed_alert
from alerting.records import Alert, Scope
from alerting.service import alertmanager_client
from streaming.clients import elasticsearch_client, redis_client
from streaming.durations import parse_duration
from streaming.indices import alerts_index
from streaming.trends import parse_scope
from undertow.context import app_context
from undertow.exceptions import ShellError

app = typer.Typer(
    help="The alert desk: list, show, acknowledge and annotate alerts; silence scopes.",
    no_args_is_help=True,
)
err = Console(stderr=True)
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout.")]


class AlertsCommandError(ShellError):
    """An alerts command that cannot be carried out as asked."""


def _who() -> str:
    return f"cli:{getpass.getuser()}"


def _echo(payload: Any) -> None:
    typer.echo(orjson.dumps(payload).decode())


def _when(text: str | None) -> datetime | None:
    if text is None:
        return None
    if text[-1:] in "smhd" and text[:-1].isdigit():
        return datetime.now(UTC) - parse_duration(text)
    try:
        when = datetime.fromisoformat(text)
    except ValueError as exc:
        raise AlertsCommandError(f"{text!r}: use an ISO-8601 time or a duration like 1h") from exc
    return when if when.tzinfo else when.replace(tzinfo=UTC)


@app.command("list")
def list_cmd(
    ctx: typer.Context,
    state: Annotated[str | None, typer.Option(help="pending, firing or resolved.")] = None,
    severity: Annotated[str | None, typer.Option(help="warning or critical.")] = None,
    rule: Annotated[str | None, typer.Option(help="A rule's name, e.g. volume_spike.")] = None,
    scope: Annotated[str | None, typer.Option(help="all, topic:X, ticker:X or source:X.")] = None,
    scope_kind: Annotated[str | None, typer.Option(help="all, topic, ticker or source.")] = None,
    text: Annotated[str | None, typer.Option("--text", "-q", help="Free text.")] = None,
    since: Annotated[str | None, typer.Option(help="ISO-8601 time or e.g. 24h.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 20,
    cursor: Annotated[str | None, typer.Option(help="The `next` of a page (--json).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Alerts from the history, newest first, filtered; `--json` gives the next page's cursor."""
    settings = app_context(ctx).settings()
    try:
        query = AlertQuery.model_validate({
            "state": state, "severity": severity, "rule": rule, "scope_kind": scope_kind,
            "scope": parse_scope(scope) if scope else None, "text": text,
            "since": _when(since), "limit": limit, "cursor": cursor,
        })  # fmt: skip
    except ValueError as exc:
        raise AlertsCommandError(str(exc)) from exc
    es = elasticsearch_client(settings.elasticsearch)
    try:
        page = search(es, alerts_index(settings.elasticsearch.index_prefix), query)
    except HistoryError as exc:
        raise AlertsCommandError(str(exc)) from exc
    finally:
        es.close()
    if as_json:
        typer.echo(page.model_dump_json())
        return
    table = Table("id", "fired", "severity", "rule", "scope", "state", "ack", "why")
    for a in page.items:
        fired = a.fired_at or a.started_at
        table.add_row(a.id, f"{fired:%Y-%m-%d %H:%M}Z", a.severity, a.rule, a.scope.name,
                      a.state, a.acked_by or "", str(a.verdict.get("reason", ""))[:60])  # fmt: skip
    Console().print(table)
    err.print(f"{len(page.items)} of {page.total}" + (" (more: --json for the cursor)"
                                                      if page.next else ""))  # fmt: skip


def _store(ctx: typer.Context) -> RedisAlertStore:
    settings = app_context(ctx).settings()
    return RedisAlertStore(redis_client(settings.redis), settings.redis.key_prefix)


def _alert(ctx: typer.Context, alert_id: str) -> Alert:
    found = _store(ctx).get(alert_id)
    if found is None:
        settings = app_context(ctx).settings()
        es = elasticsearch_client(settings.elasticsearch)
        try:
            found = indexed_alert(es, alerts_index(settings.elasticsearch.index_prefix), alert_id)
        finally:
            es.close()
    if found is None:
        raise AlertsCommandError(f"no alert {alert_id}")
    return found


def _print_alert(alert: Alert) -> None:
    out = Console()
    out.print(f"[bold]{alert.severity} {alert.rule.replace('_', ' ')} on {alert.scope.name}[/] "
              f"({alert.state}) id {alert.id}", highlight=False)  # fmt: skip
    out.print(f"  why: {alert.verdict.get('reason', '')}", highlight=False)
    for name in ("started_at", "fired_at", "resolved_at", "acked_at"):
        if (when := getattr(alert, name)) is not None:
            out.print(f"  {name}: {when.isoformat()}", highlight=False)
    if alert.acked_by:
        held = "" if alert.acknowledged else " (escalated since)"
        out.print(f"  acknowledged by {alert.acked_by}{held}", highlight=False)
    if alert.incident and alert.incident != alert.id:
        out.print(f"  part of the incident of {alert.incident}", highlight=False)
    for ex in alert.examples:
        reposts = f", {ex.reposts} reposts" if ex.reposts else ""
        out.print(f"  • {(ex.title or ex.text)[:120]} ({ex.sentiment or ex.score}, "
                  f"{ex.source}{reposts})", highlight=False)  # fmt: skip
    for entry in alert.activity:
        out.print(f"  {entry.at:%Y-%m-%d %H:%M}Z {entry.by} {entry.action}"
                  + (f": {entry.text}" if entry.text else ""), highlight=False)  # fmt: skip


@app.command("show")
def show_cmd(ctx: typer.Context, alert_id: str, as_json: JsonOpt = False) -> None:
    """One alert: why it fired, its evidence, its acknowledgement and notes."""
    alert = _alert(ctx, alert_id)
    if as_json:
        typer.echo(alert.model_dump_json())
    else:
        _print_alert(alert)


def _changed(alert: Alert | None, alert_id: str, as_json: bool, said: str) -> None:
    if alert is None:
        raise AlertsCommandError(f"no alert {alert_id}")
    if as_json:
        typer.echo(alert.model_dump_json())
    else:
        err.print(said)


@app.command("ack")
def ack_cmd(ctx: typer.Context, alert_id: str, as_json: JsonOpt = False) -> None:
    """Acknowledge: no re-notification until the alert escalates or resolves."""
    alert = _store(ctx).acknowledge(alert_id, _who(), datetime.now(UTC))
    _changed(alert, alert_id, as_json, f"acknowledged by {alert.acked_by if alert else ''}")


@app.command("unack")
def unack_cmd(ctx: typer.Context, alert_id: str, as_json: JsonOpt = False) -> None:
    """End the acknowledgement: re-notification resumes."""
    alert = _store(ctx).unacknowledge(alert_id, _who(), datetime.now(UTC))
    _changed(alert, alert_id, as_json, "no longer acknowledged")


@app.command("note")
def note_cmd(ctx: typer.Context, alert_id: str, text: str, as_json: JsonOpt = False) -> None:
    """Add a note to an alert."""
    if not text.strip() or len(text) > 2000:
        raise AlertsCommandError("a note has 1 to 2000 characters")
    alert = _store(ctx).note(alert_id, _who(), datetime.now(UTC), text)
    _changed(alert, alert_id, as_json, "noted")


def _alertmanager(ctx: typer.Context) -> AlertmanagerClient:
    client = alertmanager_client(app_context(ctx).settings())
    if client is None:
        raise AlertsCommandError("no Alertmanager is configured (alerting.alertmanager.url)")
    return client


@app.command("silence")
def silence_cmd(
    ctx: typer.Context,
    scope: Annotated[str, typer.Option(help="all, topic:X, ticker:X or source:X.")],
    reason: Annotated[str, typer.Option(help="Why (kept with the silence).")],
    for_: Annotated[str, typer.Option("--for", help="How long, e.g. 30m, 4h, 2d.")] = "4h",
    rule: Annotated[str | None, typer.Option(help="Only this rule's alerts.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Silence a scope's alerts in Alertmanager for a while (earnings day on ticker:X, 4 h)."""
    seconds = parse_duration(for_)
    if not timedelta(0) < seconds <= timedelta(days=30) or not reason.strip():
        raise AlertsCommandError("--for must be above 0 and at most 30d, and --reason given")
    client = _alertmanager(ctx)
    now = datetime.now(UTC)
    namespace = app_context(ctx).settings().redis.key_prefix
    matchers = scope_matchers(namespace, Scope.parse(parse_scope(scope)), rule)
    silence_id = client.create_silence(matchers, now, now + seconds, _who(), reason)
    if as_json:
        _echo({"id": silence_id, "ends_at": (now + seconds).isoformat()})
    else:
        err.print(f"silenced {scope} until {now + seconds:%Y-%m-%d %H:%M}Z (id {silence_id})")


@app.command("silences")
def silences_cmd(
    ctx: typer.Context,
    expired: Annotated[bool, typer.Option(help="Include recently expired ones.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """The silences that can match this deployment's alerts."""
    namespace = app_context(ctx).settings().redis.key_prefix
    found = [s for s in _alertmanager(ctx).silences() if ours(s, namespace)
             and (expired or s.state != "expired")]  # fmt: skip
    if as_json:
        _echo({"items": [s.model_dump(mode="json", by_alias=True) for s in found]})
        return
    table = Table("id", "state", "matches", "ends", "by", "why")
    for s in found:
        matches = ", ".join(f"{m.name}{'=~' if m.is_regex else '='}{m.value}" for m in s.matchers
                            if m.name != "namespace")  # fmt: skip
        table.add_row(s.id, s.state, matches, f"{s.ends_at:%Y-%m-%d %H:%M}Z", s.created_by,
                      s.comment[:50])  # fmt: skip
    Console().print(table)


@app.command("unsilence")
def unsilence_cmd(ctx: typer.Context, silence_id: str) -> None:
    """Expire a silence now."""
    client = _alertmanager(ctx)
    found = client.silence(silence_id)
    namespace = app_context(ctx).settings().redis.key_prefix
    if found is None or not ours(found, namespace):
        raise AlertsCommandError(f"no silence {silence_id}")
    client.expire_silence(silence_id)
    err.print(f"expired {silence_id}")
