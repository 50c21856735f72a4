"""``undertow dlq list | redrive``: inspect the dead letters by reason, send chosen ones back."""

from __future__ import annotations

from collections import Counter
from typing import Annotated

import orjson
import typer
from kafka import KafkaProducer
from rich.console import Console
from rich.table import Table

from streaming.clients import kafka_python_kwargs
from streaming.dlq import record_limit
from streaming.redrive import DeadLetter, read, redrive
from streaming.topics import input_topics
from undertow.context import app_context
from undertow.exceptions import ShellError

app = typer.Typer(
    help="Dead letters: list them by reason, send chosen ones back to their input topic.",
    no_args_is_help=True,
)
err = Console(stderr=True)
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout.")]
ReasonOpt = Annotated[
    list[str] | None, typer.Option("--reason", help="Only letters of this reason (repeatable).")
]
PositionOpt = Annotated[
    list[str] | None,
    typer.Option("--position", help="Only this letter, PARTITION:OFFSET as listed (repeatable)."),
]


class DlqCommandError(ShellError):
    """A dead-letter command that cannot be carried out as asked."""


def _chosen(ctx: typer.Context, reasons: list[str], positions: list[str]) -> list[DeadLetter]:
    settings = app_context(ctx).settings()
    letters = read(kafka_python_kwargs(settings.kafka), settings.kafka.topics.dlq)
    return [
        letter
        for letter in letters
        if (not reasons or letter.reason in reasons)
        and (not positions or letter.position in positions)
    ]


@app.command("list")
def list_cmd(
    ctx: typer.Context,
    reason: ReasonOpt = None,
    position: PositionOpt = None,
    limit: Annotated[int, typer.Option(min=0, help="Show the latest N letters.")] = 20,
    as_json: JsonOpt = False,
) -> None:
    """How many dead letters there are by reason, and the latest of them."""
    letters = _chosen(ctx, reason or [], position or [])
    counts = Counter(letter.reason for letter in letters)
    latest = sorted(letters, key=lambda x: x.timestamp_ms or 0)[-limit:] if limit else []
    if as_json:
        body = {"total": len(letters), "by_reason": dict(counts.most_common()),
                "letters": [x.summary() for x in latest]}  # fmt: skip
        typer.echo(orjson.dumps(body).decode())
        return
    err.print(f"{len(letters)} dead letter(s)")
    for name, count in counts.most_common():
        err.print(f"  {name}: {count}")
    if latest:
        table = Table("position", "reason", "from", "error", "bytes")
        for x in latest:
            s = x.summary()
            table.add_row(s["position"], s["reason"], s["origin"], s["error"][:60], str(s["bytes"]))
        Console().print(table)


@app.command("redrive")
def redrive_cmd(
    ctx: typer.Context,
    reason: ReasonOpt = None,
    position: PositionOpt = None,
    drop_field: Annotated[
        list[str] | None,
        typer.Option(
            "--drop-field",
            help="Remove this field (dotted path in the feed's JSON) before sending, e.g. "
            "published_at to use the record's own time (repeatable).",
        ),
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Say what would be sent.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Send chosen dead letters back to the topic they came from, to be processed again.

    Fix first what made them fail (an input's time_formats or field mapping), or drop the
    field that cannot be read. A letter processed again is counted once.
    """
    if not reason and not position:
        raise DlqCommandError("choose letters with --reason or --position (see `dlq list`)")
    settings = app_context(ctx).settings()
    letters = _chosen(ctx, reason or [], position or [])
    inputs = set(input_topics(settings.kafka.topics, settings.streaming))
    inputs.add(settings.kafka.topics.scored)  # letters the sink refused go back to it
    if dry_run:
        body = {"would_send": len(letters), "letters": [x.summary() for x in letters]}
        typer.echo(orjson.dumps(body).decode() if as_json else
                   f"would send {len(letters)} letter(s) back")  # fmt: skip
        return
    limit = record_limit(settings.streaming.max_message_bytes)
    producer = KafkaProducer(
        **kafka_python_kwargs(settings.kafka), acks="all", max_request_size=limit
    )
    try:
        report = redrive(letters, producer, dlq_topic=settings.kafka.topics.dlq, inputs=inputs,
                         drop_fields=drop_field or [])  # fmt: skip
    finally:
        producer.close()
    if as_json:
        typer.echo(orjson.dumps({"sent": report.sent, "skipped": report.skipped}).decode())
    else:
        err.print(f"sent back {sum(report.sent.values())} letter(s): {report.sent}")
        for skipped in report.skipped:
            err.print(f"  not sent {skipped['position']}: {skipped['why']}")
    if report.skipped and not report.sent:
        raise typer.Exit(1)
