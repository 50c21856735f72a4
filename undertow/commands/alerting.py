"""``undertow alerting serve`` and ``undertow thresholds get | set | history | backtest |
suggest``."""

from __future__ import annotations

import getpass
import logging
import sys
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
from rich.console import Console
from rich.table import Table

from alerting import backtest
from alerting.auth import ROLES, hash_key
from alerting.exceptions import AlertingError
from alerting.service import serve
from alerting.suggest import suggest
from alerting.threshold_store import RedisThresholdStore, ThresholdStore
from alerting.thresholds import ThresholdError
from streaming.clients import elasticsearch_client, redis_client
from streaming.durations import parse_duration
from streaming.indices import alerts_index, docs_pattern
from streaming.workers import scoring_for
from undertow import score_api
from undertow.context import app_context
from undertow.exceptions import ShellError

alerting_app = typer.Typer(
    help="The alerting service: evaluator, HTTP API and web page.", no_args_is_help=True
)
thresholds_app = typer.Typer(
    help="Read, change and backtest the alert thresholds.", no_args_is_help=True
)
err = Console(stderr=True)
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout.")]


class ThresholdCommandError(ShellError):
    """A threshold command that cannot be carried out as asked."""


def _echo(payload: Any) -> None:
    typer.echo(orjson.dumps(payload).decode())


@alerting_app.command("serve")
def serve_cmd(
    ctx: typer.Context,
    evaluator: Annotated[bool, typer.Option(help="Also run the evaluator.")] = True,
    host: Annotated[str | None, typer.Option(help="Listen address (default: config).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default: config, 8000).")] = None,
    scoring: Annotated[
        bool,
        typer.Option(help="Also serve POST /api/score with the live model (loads the model)."),
    ] = True,
) -> None:
    """Serve the API (OpenAPI at /docs) and the web page; evaluate the rules every tick."""
    settings = app_context(ctx).settings()
    overrides = {k: v for k, v in (("host", host), ("port", port)) if v is not None}
    if overrides:
        alerting = settings.alerting.model_copy(update=overrides)
        settings = settings.model_copy(update={"alerting": alerting})
    level = logging.getLevelName(logging.getLogger().level)
    err.print(
        f"[dim]alerting[/] http://{settings.alerting.host}:{settings.alerting.port}/ "
        f"(evaluator {'on' if evaluator else 'off'})"
    )
    scorer = scoring_for(settings) if scoring else None
    try:
        serve(
            settings,
            evaluate=evaluator,
            log_level=level,
            extend=(lambda app: score_api.mount(app, scorer)) if scorer is not None else None,
        )
    finally:
        if scorer is not None:
            scorer.close()


def _changes(
    assignments: list[str], scope: str | None, rule: str | None
) -> tuple[str, dict[str, dict[str, Any]]]:
    """The one rule the assignments change, and the changes per kind (or for ``scope``)."""
    changes: dict[str, dict[str, Any]] = {}
    named: set[str] = set()
    for text in assignments:
        rules, kinds, key, value = backtest.parse_assignment(text)
        named.update([rule] if rule in rules else rules)
        for kind in kinds if scope is None else [scope]:
            changes.setdefault(kind, {})[key] = value
    if rule is not None:
        named = {rule}
    if len(named) != 1:
        raise ThresholdError("rule", f"the keys fit rules {sorted(named)}: name one with --rule")
    return named.pop(), changes


def _store(ctx: typer.Context) -> ThresholdStore:
    settings = app_context(ctx).settings()
    return RedisThresholdStore(redis_client(settings.redis), settings.redis.key_prefix)


@thresholds_app.command("get")
def get_cmd(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Show the current threshold set."""
    current = _store(ctx).current().model_dump(mode="json")
    if as_json:
        _echo(current)
    else:
        Console().print_json(data=current)


@thresholds_app.command("set")
def set_cmd(
    ctx: typer.Context,
    assignments: Annotated[
        list[str],
        typer.Argument(help="key=value (every kind), kind.key=value or rule.kind.key=value."),
    ],
    reason: Annotated[str, typer.Option(help="Why (kept in the history).")],
    scope: Annotated[
        str | None, typer.Option(help="Override for one scope, e.g. ticker:AAPL.")
    ] = None,
    rule: Annotated[
        str | None, typer.Option(help="The rule to change (default: the one the keys name).")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Change thresholds; the evaluator uses the new version at its next tick."""
    try:
        name, changes = _changes(assignments, scope, rule)
        who = f"cli:{getpass.getuser()}"
        store = _store(ctx)
        new = (
            store.change(None, changes, by=who, reason=reason, rule=name)
            if scope
            else store.change(changes, None, by=who, reason=reason, rule=name)
        )
    except ThresholdError as exc:
        raise ThresholdCommandError(str(exc)) from exc
    if as_json:
        _echo(new.model_dump(mode="json"))
    else:
        err.print(f"[green]thresholds version {new.version}[/]")


@thresholds_app.command("history")
def history_cmd(ctx: typer.Context, limit: int = 20, as_json: JsonOpt = False) -> None:
    """Threshold changes, newest first."""
    items = _store(ctx).history(limit)
    if as_json:
        _echo({"items": items})
        return
    for item in items:
        err.print(f"v{item['version']} {item['at']} by {item['by']}: {item['reason']}")


@thresholds_app.command("backtest")
def backtest_cmd(
    ctx: typer.Context,
    since: Annotated[str, typer.Option(help="How far back, e.g. 7d or 12h.")] = "7d",
    set_: Annotated[
        list[str] | None, typer.Option("--set", help="key=value over the current set.")
    ] = None,
    sweep: Annotated[
        list[str] | None, typer.Option(help="key=v1,v2,... one run per value.")
    ] = None,
    events: Annotated[
        Path | None, typer.Option(exists=True, dir_okay=False, help="Labelled events JSON.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """What the thresholds would have fired on the scored documents in Elasticsearch."""
    settings = app_context(ctx).settings()
    swept: dict[str, list[str]] = {}
    for text in sweep or []:
        key, _, values = text.partition("=")
        if not values:
            raise ThresholdCommandError(f"--sweep {text!r}: use key=v1,v2,...")
        swept[key] = values.split(",")
    configs = backtest.configurations(list(set_ or []), swept)
    labelled = []
    if events is not None:
        try:
            labelled = [
                backtest.LabelledEvent.model_validate(e)
                for e in orjson.loads(events.read_bytes())["events"]
            ]
        except (ValueError, KeyError, TypeError) as exc:
            raise ThresholdCommandError(
                f'{events}: expected {{"events": [{{scope, onset, end}}]}} ({exc})'
            ) from exc
    es = elasticsearch_client(settings.elasticsearch)
    try:
        report = backtest.run(
            es,
            docs_pattern(settings.elasticsearch.index_prefix),
            _store(ctx).current(),
            since=parse_duration(since),
            bucket_s=settings.streaming.bucket_s,
            tick_s=settings.alerting.tick_s,
            configs=configs,
            events=labelled,
            retention_s=settings.streaming.retention_s,
            rollup_s=settings.streaming.rollup_s,
        )
    except ThresholdError as exc:
        raise ThresholdCommandError(str(exc)) from exc
    finally:
        es.close()
    if as_json:
        _echo(report.model_dump(mode="json", exclude_unset=True))
        return
    for name, result in report.configurations.items():
        extra = (
            f", recall {result.recall}, precision {result.precision}"
            if result.events is not None
            else ""
        )
        err.print(f"{name}: {result.alerts} alerts ({result.alerts_per_day}/day){extra}")


@alerting_app.command("hash-key")
def hash_key_cmd(
    role: Annotated[str, typer.Option(help="analyst (reads, acknowledges) or operator.")],
) -> None:
    """Print a keys-file line (`role:scrypt$…`) for a key read from standard input.

    Example: `openssl rand -hex 24 | tee my.key | undertow alerting hash-key --role operator
    >> keys.txt`, then set `alerting.api_keys_file: keys.txt`.
    """
    if role not in ROLES:
        raise typer.BadParameter("use analyst or operator", param_hint="--role")
    key = sys.stdin.readline().strip()
    try:
        typer.echo(f"{role}:{hash_key(key)}")
    except AlertingError as exc:
        raise typer.BadParameter(str(exc), param_hint="stdin") from exc


@thresholds_app.command("suggest")
def suggest_cmd(
    ctx: typer.Context,
    rule: Annotated[str, typer.Option(help="The rule to tune.")] = "negative_spike",
    since: Annotated[str, typer.Option(help="How far back, e.g. 7d (at most 31d).")] = "7d",
    as_json: JsonOpt = False,
) -> None:
    """Backtest candidate thresholds against the alerts analysts marked useful or noise and
    suggest the one that keeps the useful ones and drops the most noise. Changes nothing: the
    operator applies it with the printed `thresholds set` command."""
    settings = app_context(ctx).settings()
    prefix = settings.elasticsearch.index_prefix
    es = elasticsearch_client(settings.elasticsearch)
    err.print(f"[dim]backtesting candidates for {rule} over {since} ...[/]")
    try:
        report = suggest(
            es, docs_pattern(prefix), alerts_index(prefix), _store(ctx).current(), rule,
            since=parse_duration(since), bucket_s=settings.streaming.bucket_s,
            tick_s=settings.alerting.tick_s, retention_s=settings.streaming.retention_s,
            rollup_s=settings.streaming.rollup_s,
        )  # fmt: skip
    except ThresholdError as exc:
        raise ThresholdCommandError(str(exc)) from exc
    finally:
        es.close()
    if as_json:
        _echo(report)
        return
    judged = report["judged"]
    err.print(f"{rule}: {judged['useful']} alerts judged useful, {judged['noise']} noise")
    table = Table("candidate", "alerts", "per day", "useful kept", "noise kept")
    for row in report["candidates"][:12]:
        table.add_row(row["name"], str(row["alerts"]), str(row["alerts_per_day"]),
                      f"{row['useful_kept']}/{judged['useful']}",
                      f"{row['noise_kept']}/{judged['noise']}")  # fmt: skip
    if report["candidates"]:
        Console().print(table)
    if report["suggestion"] is None:
        err.print(f"no change suggested: {report['why']}")
    else:
        err.print(f"[green]suggested[/]: {report['suggestion']['name']}; to apply it:")
        typer.echo(report["apply"])
