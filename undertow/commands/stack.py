"""``undertow stack up | down | status``: the local Kafka, Elasticsearch, Redis, Mailpit and
Alertmanager."""

from __future__ import annotations

from typing import Annotated

import orjson
import typer
from rich.console import Console
from rich.table import Table

from deploy.stack.manager import ServiceStatus, Stack
from streaming.bootstrap import bootstrap
from undertow.context import app_context

app = typer.Typer(
    help=(
        "Run the local stack (Kafka KRaft, Elasticsearch, Redis, Mailpit, Alertmanager) on "
        "127.0.0.1, without Docker."
    ),
    no_args_is_help=True,
)
err = Console(stderr=True)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout.")]


def _print(statuses: dict[str, ServiceStatus], as_json: bool) -> None:
    if as_json:
        payload = {name: st.as_dict() for name, st in statuses.items()}
        typer.echo(orjson.dumps(payload).decode())
        return
    table = Table("service", "version", "address", "pid", "healthy", "detail")
    for name, st in statuses.items():
        healthy = "[green]yes[/]" if st.healthy else "[red]no[/]"
        table.add_row(name, st.version, st.address, str(st.pid or "-"), healthy, st.detail)
    Console().print(table)


def _stack(ctx: typer.Context) -> Stack:
    settings = app_context(ctx).settings()
    return Stack(settings.stack, progress=lambda msg: err.print(f"[dim]stack[/] {msg}"))


@app.command()
def up(
    ctx: typer.Context,
    as_json: JsonOpt = False,
    timeout: Annotated[
        float | None, typer.Option(help="Seconds to wait for health (default: config).")
    ] = None,
) -> None:
    """Install what is missing, start what is not running, wait until healthy, create topics."""
    stack = _stack(ctx)
    statuses = stack.up(timeout_s=timeout)
    err.print("[dim]stack[/] creating topics and index templates if absent")
    report = bootstrap(app_context(ctx).settings())
    if report.topics_created:
        err.print(f"[dim]stack[/] created topics: {', '.join(report.topics_created)}")
    _print(statuses, as_json)


@app.command()
def down(
    ctx: typer.Context,
    as_json: JsonOpt = False,
    service: Annotated[
        list[str] | None,
        typer.Option(
            help="Stop only this service (repeatable): kafka, elasticsearch, redis, mailpit, "
            "alertmanager."
        ),
    ] = None,
) -> None:
    """Stop exactly the processes `stack up` started (by pid), and wait until they are gone.

    With --service, stop only those (`stack up` starts them again): a fault to inject.
    """
    stopped = _stack(ctx).down(service)
    if as_json:
        typer.echo(orjson.dumps({"stopped": stopped}).decode())
    else:
        err.print(f"stopped: {', '.join(stopped) or 'nothing was running'}")


@app.command()
def status(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Report each service's health; exit 0 only when every one is healthy."""
    statuses = _stack(ctx).status()
    _print(statuses, as_json)
    if not all(st.healthy for st in statuses.values()):
        raise typer.Exit(1)
