"""`undertow entities`: try the entity linker on text, and measure it on a labelled set."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from models.serving.entities import HEADLINES, WatchedLinker, read_labelled, score_linking
from undertow.commands.models import echo_json
from undertow.context import app_context

app = typer.Typer(no_args_is_help=True, help="Company names → tickers: try and measure it.")
err = Console(stderr=True)

WatchlistOpt = Annotated[
    Path | None,
    typer.Option(help="Watchlist YAML (default: streaming.watchlist of the settings)."),
]


def _linker(ctx: typer.Context, watchlist: Path | None) -> WatchedLinker:
    return WatchedLinker(watchlist or app_context(ctx).settings().streaming.watchlist)


@app.command()
def link(
    ctx: typer.Context,
    text: Annotated[str, typer.Argument(help="The document's text.")],
    title: Annotated[str | None, typer.Option(help="Its title, if it has one.")] = None,
    watchlist: WatchlistOpt = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """The companies TEXT names, with where, how often and how relevant."""
    mentions = [m.as_dict() for m in _linker(ctx, watchlist).link(title, text)]
    if as_json:
        echo_json({"entities": mentions})
        return
    table = Table("ticker", "name", "matched", "where", "count", "relevance")
    for m in mentions:
        table.add_row(m["ticker"], m["name"], m["matched"], m["where"], str(m["count"]),
                      f"{m['relevance']:.2f}")  # fmt: skip
    err.print(table if mentions else "no company found")


@app.command()
def evaluate(
    ctx: typer.Context,
    data: Annotated[
        Path, typer.Argument(help="JSONL: text, tickers (expected), optional title.")
    ] = HEADLINES,
    min_relevance: Annotated[
        float | None,
        typer.Option(min=0.0, max=1.0, help="Default: streaming.entity_min_relevance."),
    ] = None,
    watchlist: WatchlistOpt = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Precision and recall of the linker's tickers on a labelled set (by default the packaged
    175 headlines that name companies without cashtags)."""
    threshold = min_relevance
    if threshold is None:
        threshold = app_context(ctx).settings().streaming.entity_min_relevance
    result = score_linking(_linker(ctx, watchlist).linker, read_labelled(data), threshold)
    for error in result.errors[:20]:
        err.print(f"[dim]missed {error['missed']} wrong {error['wrong']}:[/] {error['text']}",
                  highlight=False)  # fmt: skip
    err.print(
        f"{result.documents} documents, {result.expected} companies expected: precision "
        f"{result.precision:.3f}, recall {result.recall:.3f}, F1 {result.f1:.3f} "
        f"(relevance ≥ {threshold})"
    )
    if as_json:
        echo_json(result.model_dump(mode="json"))
