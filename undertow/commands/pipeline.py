"""``undertow worker | replay | trends``: run the pipeline, feed it, read what it counted."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Annotated

import orjson
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from streaming.clients import elasticsearch_client, redis_client
from streaming.durations import parse_duration
from streaming.replay import read_documents, replay
from streaming.retention import prune
from streaming.trends import parse_scope, trend
from streaming.window_store import RedisWindowStore
from streaming.workers import ROLES, SHADOW, run_role
from undertow.context import app_context
from undertow.demo import run_demo
from undertow.supervisor import Supervisor, worker_args

app = typer.Typer()
err = Console(stderr=True)


@app.command()
def worker(
    ctx: typer.Context,
    role: Annotated[
        list[str] | None,
        typer.Option(
            help=f"Role(s) to run: {', '.join(ROLES)} (default: all, one process each), or shadow."
        ),
    ] = None,
    model: Annotated[
        str | None, typer.Option(help="The candidate version a shadow worker scores with.")
    ] = None,
    sample: Annotated[
        float | None,
        typer.Option(
            min=0.001,
            max=1.0,
            help="Share of the input a shadow worker scores (default: streaming.shadow_sample, 1).",
        ),
    ] = None,
) -> None:
    """Run pipeline workers until Ctrl-C (score: inputs → models; sink: → Redis + Elasticsearch).

    Start more processes of a role to share its partitions (Kafka consumer groups). A shadow
    worker (``--role shadow --model VERSION``) scores the live input with a candidate version in
    a consumer group of its own and indexes its answers beside the live ones for ``undertow
    models compare``; the live pipeline's output does not change.
    """
    roles = list(dict.fromkeys(role or ROLES))
    unknown = [r for r in roles if r not in (*ROLES, SHADOW)]
    if unknown:
        raise typer.BadParameter(
            f"unknown role(s) {unknown}; choose from {[*ROLES, SHADOW]}", param_hint="--role"
        )
    if SHADOW in roles and len(roles) > 1:
        raise typer.BadParameter("run the shadow role in a process of its own",
                                 param_hint="--role")  # fmt: skip
    context = app_context(ctx)
    settings = context.settings()
    if SHADOW in roles:
        shadow = {k: v for k, v in (("shadow_model", model), ("shadow_sample", sample)) if v}
        streaming = settings.streaming.model_copy(update=shadow)
        if streaming.shadow_model is None:
            raise typer.BadParameter("name the candidate version", param_hint="--model")
        settings = settings.model_copy(update={"streaming": streaming})
    level = logging.getLevelName(logging.getLogger().level)
    if len(roles) == 1:
        raise typer.Exit(run_role(settings, roles[0], level))
    raise typer.Exit(Supervisor(worker_args(roles), context.config_path, level).run())


@app.command("replay")
def replay_cmd(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help=".jsonl or .csv")],
    source: Annotated[str, typer.Option(help="news or social: which input topic.")] = "news",
    topic: Annotated[str | None, typer.Option(help="Produce to this topic instead.")] = None,
    rate: Annotated[float | None, typer.Option(help="Documents per second (default: max).")] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="At most N documents.")] = None,
    spread: Annotated[
        str | None,
        typer.Option(help="Give event times spread evenly over this past interval, e.g. 2h."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Produce documents from a JSONL or CSV file (a `text` column at least) to an input topic."""
    kafka = app_context(ctx).settings().kafka
    if topic is None:
        if source not in ("news", "social"):
            raise typer.BadParameter("--source must be news or social (or give --topic)")
        topic = kafka.topics.news if source == "news" else kafka.topics.social
    docs = read_documents(file, limit)
    window = parse_duration(spread) if spread else None
    began = time.monotonic()
    columns = (
        TextColumn(f"replay → {topic}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=err, disable=as_json) as bar:
        task = bar.add_task("replay", total=len(docs))
        sent = replay(
            docs,
            kafka,
            topic,
            rate=rate,
            spread=window,
            progress=lambda n: bar.update(task, completed=n),
        )
    seconds = time.monotonic() - began
    summary = {
        "produced": sent,
        "topic": topic,
        "seconds": round(seconds, 3),
        "rate": round(sent / seconds, 1) if seconds else None,
    }
    if as_json:
        typer.echo(orjson.dumps(summary).decode())
    else:
        err.print(f"produced {sent} documents to {topic} in {seconds:.1f} s")


@app.command()
def trends(
    ctx: typer.Context,
    scope: Annotated[
        str, typer.Option(help="all, topic:NAME, ticker:SYMBOL or source:NAME.")
    ] = "all",
    window: Annotated[str, typer.Option(help="Window length ending now, e.g. 15m, 1h.")] = "15m",
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Sentiment counts of a scope over a window, from the Redis windows the sink worker keeps."""
    settings = app_context(ctx).settings()
    name = parse_scope(scope)
    seconds = int(parse_duration(window).total_seconds())
    client = redis_client(settings.redis)
    try:
        store = RedisWindowStore(
            client,
            settings.streaming.bucket_s,
            settings.streaming.retention_s,
            prefix=settings.redis.key_prefix,
        )
        result = trend(store, name, seconds, time.time())
    finally:
        client.close()
    if as_json:
        typer.echo(result.model_dump_json())
        return
    table = Table(
        "scope",
        "window",
        "total",
        "negative",
        "neutral",
        "positive",
        "neg. share",
        "mean score",
        "unique",
    )
    table.add_row(
        name,
        window,
        *(str(n) for n in (result.total, result.negative, result.neutral, result.positive)),
        f"{result.negative_share:.1%}",
        f"{result.mean_score:+.3f}",
        str(result.unique.total),
    )
    Console().print(table)


@app.command()
def demo(
    ctx: typer.Context,
    duration: Annotated[
        float | None, typer.Option(min=1, help="Stop after this many seconds (default: Ctrl-C).")
    ] = None,
    live_rate: Annotated[
        float, typer.Option(min=0.1, help="Ordinary documents per second after the feed.")
    ] = 2.0,
    keep_stack: Annotated[
        bool, typer.Option(help="Leave the stack running at the end even if the demo started it.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print a final JSON summary.")] = False,
) -> None:
    """Stack up, workers, the sample feed replayed (with a negative burst), a live summary.

    Ctrl-C (or --duration) stops the workers, and the stack if the demo started it.
    """
    context = app_context(ctx)
    level = logging.getLevelName(logging.getLogger().level)
    final = run_demo(
        context.settings(),
        context.config_path,
        level,
        duration=duration,
        live_rate=live_rate,
        keep_stack=keep_stack,
    )
    if as_json:
        typer.echo(orjson.dumps(final).decode())


@app.command("prune-indices")
def prune_indices(
    ctx: typer.Context,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="List, delete nothing.")] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Delete the daily document indices older than `elasticsearch.retention_days`.

    The sink worker does this at start and hourly; this runs it now.
    """
    es_settings = app_context(ctx).settings().elasticsearch
    client = elasticsearch_client(es_settings)
    try:
        names = prune(client, es_settings.index_prefix, es_settings.retention_days,
                      dry_run=dry_run)  # fmt: skip
    finally:
        client.close()
    if as_json:
        typer.echo(orjson.dumps({"deleted": [] if dry_run else names, "expired": names}).decode())
        return
    verb = "would delete" if dry_run else "deleted"
    typer.echo(f"{verb} {len(names)} index(es) older than {es_settings.retention_days} days"
               + "".join(f"\n  {n}" for n in names))  # fmt: skip
