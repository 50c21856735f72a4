"""``undertow feedback label | export``: correct the models on one document (e.g. found in
Kibana), and write every correction as training files for ``undertow train --feedback DIR``."""

from __future__ import annotations

import csv
import getpass
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Annotated

import orjson
import typer
from pydantic import ValidationError
from rich.console import Console

from alerting.corrections import TASKS, CorrectionError, CorrectionStore, Label
from streaming.clients import elasticsearch_client
from streaming.indices import corrections_index, docs_pattern
from undertow.context import app_context
from undertow.exceptions import ShellError

app = typer.Typer(help="Analysts' corrections of the models, as training data.",
                  no_args_is_help=True)  # fmt: skip
err = Console(stderr=True)
COLUMNS = ("text", "label", "id", "predicted", "by", "at", "model_version")


class FeedbackError(ShellError):
    """A correction that cannot be made as asked."""


def _store(ctx: typer.Context) -> CorrectionStore:
    settings = app_context(ctx).settings()
    prefix = settings.elasticsearch.index_prefix
    es = elasticsearch_client(settings.elasticsearch)
    return CorrectionStore(es, docs_pattern(prefix), corrections_index(prefix))


@app.command("label")
def label_cmd(
    ctx: typer.Context,
    doc_id: Annotated[str, typer.Argument(help="The document's id (as Kibana shows it).")],
    sentiment: Annotated[str | None, typer.Option(help="negative, neutral or positive.")] = None,
    topic: Annotated[str | None, typer.Option(help="One of the 20 topics, e.g. Dividend.")] = None,
    note: Annotated[str | None, typer.Option(help="Why (kept with the correction).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the correction.")] = False,
) -> None:
    """Correct the models' sentiment and/or topic for one indexed document (as the API's
    POST /api/documents/ID/label does), recorded as cli:USER."""
    try:
        label = Label(sentiment=sentiment, topic=topic, note=note)
    except ValidationError as exc:
        raise FeedbackError("; ".join(e["msg"].removeprefix("Value error, ")
                                      for e in exc.errors())) from exc  # fmt: skip
    store = _store(ctx)
    try:
        made = store.correct(doc_id, label, by=f"cli:{getpass.getuser()}")
    except CorrectionError as exc:
        raise FeedbackError(str(exc)) from exc
    finally:
        store.es.close()
    err.print(f"{doc_id}: model said {made.predicted}, corrected to "
              f"sentiment={made.sentiment} topic={made.topic}")  # fmt: skip
    if as_json:
        typer.echo(orjson.dumps(made.model_dump(mode="json")).decode())


@app.command("export")
def export_cmd(
    ctx: typer.Context,
    out: Annotated[
        Path,
        typer.Option(
            file_okay=False, help="Directory for sentiment.csv and topic.csv (made if missing)."
        ),
    ],
    since: Annotated[
        datetime | None, typer.Option(help="Only corrections made at or after this time.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Write every correction as CSV (text,label plus where it came from): sentiment.csv and
    topic.csv, one row per corrected document and task, the latest correction winning."""
    store = _store(ctx)
    out.mkdir(parents=True, exist_ok=True)
    counts: dict[str, Counter[str]] = {task: Counter() for task in TASKS}
    files = {task: (out / f"{task}.csv").open("w", newline="", encoding="utf-8")
             for task in TASKS}  # fmt: skip
    try:
        writers = {task: csv.writer(handle) for task, handle in files.items()}
        for writer in writers.values():
            writer.writerow(COLUMNS)
        for c in store.all(since):
            for task in TASKS:
                label = getattr(c, task)
                if label is None:
                    continue
                counts[task][label] += 1
                writers[task].writerow([c.text, label, c.id, c.predicted.get(task) or "", c.by,
                                        c.at.isoformat(), c.model.get("version", "")])  # fmt: skip
    finally:
        for handle in files.values():
            handle.close()
        store.es.close()
    summary = {task: dict(sorted(n.items())) for task, n in counts.items()}
    err.print(f"corrections → {out}: " + "; ".join(
        f"{task} {sum(n.values())} ({', '.join(f'{k} {v}' for k, v in sorted(n.items())) or '-'})"
        for task, n in counts.items()))  # fmt: skip
    if as_json:
        typer.echo(orjson.dumps({"out": str(out), "counts": summary}).decode())
