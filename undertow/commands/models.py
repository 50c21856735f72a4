"""``undertow train | export | evaluate | promote``: the offline model module."""

from __future__ import annotations

import logging
import os
import shlex
import sys
from pathlib import Path
from typing import Annotated, Any, TypeVar

import orjson
import typer
from pydantic import BaseModel, ValidationError
from rich.console import Console
from rich.table import Table

from models.exceptions import DataError, GateError, ModelError
from models.serving.benchmark import load_corpus
from models.serving.benchmark import model_only as run_model_only
from models.serving.provenance import code_version, utc_now
from models.serving.registry import Registry
from models.serving.runtime import registry_for, scorer_for
from models.serving.scorer import Scorer
from models.serving.variants import VARIANT_FILES
from models.training.evaluation import evaluate as run_eval
from models.training.evaluation import gate, task_of, write_soft_labels
from models.training.progress import TrainProgress
from undertow.context import app_context

app = typer.Typer(no_args_is_help=True)
M = TypeVar("M", bound=BaseModel)
err = Console(stderr=True)

# The repository (undertow/commands/models.py is two folders down).
ROOT = Path(__file__).resolve().parents[2]
# The labelled sets beside the repository (../shared/data), overridable.
DATA_DIR_ENV = "UNDERTOW_DATA_DIR"
STANDARD_FILES = {
    "sentiment_train": [
        "twitter_financial_news_sentiment/train.csv",
        "financial_phrasebank/train.csv",
    ],
    "topic_train": ["twitter_financial_news_topic/train.csv"],
    "sentiment_dev": ["twitter_financial_news_sentiment/dev.csv", "financial_phrasebank/dev.csv"],
    "topic_dev": ["twitter_financial_news_topic/dev.csv"],
}

Files = Annotated[list[Path] | None, typer.Option(exists=True, dir_okay=False)]


def default_data_dir() -> Path:
    """$UNDERTOW_DATA_DIR, else ../shared/data next to the repository."""
    return Path(os.environ.get(DATA_DIR_ENV, ROOT.parent / "shared" / "data"))


def _files(given: list[Path] | None, key: str, data_dir: Path) -> list[Path]:
    if given:
        return given
    paths = [data_dir / rel for rel in STANDARD_FILES[key]]
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise DataError(f"no --{key.replace('_', '-')} given and {', '.join(missing)} not found")
    return paths


def echo_json(payload: Any) -> None:
    """One JSON object on the last line of stdout."""
    typer.echo(orjson.dumps(payload, option=orjson.OPT_SERIALIZE_NUMPY).decode())


def _validated(model: type[M], **values: Any) -> M:
    """Build a pydantic model from options; a bad value is a usage error naming the option."""
    try:
        return model(**values)
    except ValidationError as exc:
        first = exc.errors()[0]
        option = "--" + str(first["loc"][0]).replace("_", "-")
        raise typer.BadParameter(first["msg"], param_hint=option) from exc


def _registry(ctx: typer.Context) -> Registry:
    return registry_for(app_context(ctx).settings().models)


def _command_line() -> str:

    return "undertow " + shlex.join(sys.argv[1:])


@app.command()
def train(
    ctx: typer.Context,
    base: Annotated[
        Path | None,
        typer.Option(help="Hugging Face encoder directory (default: all-MiniLM-L6-v2)."),
    ] = None,
    sentiment_train: Files = None,
    topic_train: Files = None,
    sentiment_dev: Files = None,
    topic_dev: Files = None,
    data_dir: Annotated[
        Path | None, typer.Option(help="Where the standard labelled sets are (../shared/data).")
    ] = None,
    epochs: int = 4,
    learning_rate: float = 8e-5,
    batch_size: int = 32,
    max_length: int = 128,
    schedule: str = "linear",
    warmup_ratio: float = 0.06,
    seed: int = 13,
    patience: Annotated[int, typer.Option(help="Epochs without dev gain before stopping.")] = 1,
    class_weights: Annotated[str, typer.Option(help="Topic class weights.")] = "sqrt_inverse",
    sentiment_class_weights: Annotated[
        str, typer.Option(help="Sentiment class weights (none or sqrt_inverse).")
    ] = "none",
    lora_r: Annotated[int, typer.Option(help="LoRA rank (0 = full fine-tuning).")] = 0,
    limit: Annotated[int | None, typer.Option(help="Use at most N rows per file set.")] = None,
    normalise_links: Annotated[
        bool, typer.Option(help="Replace links by one stand-in word (shorter inputs, faster).")
    ] = False,
    ema_decay: Annotated[
        float,
        typer.Option(help="Keep a moving average of the weights (decay per step, e.g. 0.999)."),
    ] = 0.0,
    label_smoothing: Annotated[
        float,
        typer.Option(help="Spread this share of each target over all labels (e.g. 0.1)."),
    ] = 0.0,
    distil_weight: Annotated[
        float,
        typer.Option(
            help="Share of the loss a row with a teacher's p_<label> columns learns from them."
        ),
    ] = 0.5,
    distil_temperature: Annotated[
        float, typer.Option(help="Temperature that softens teacher and student alike.")
    ] = 2.0,
    feedback: Annotated[
        Path | None,
        typer.Option(
            exists=True,
            file_okay=False,
            help="Analysts' corrections: a directory `undertow feedback export` wrote.",
        ),
    ] = None,
    feedback_weight: Annotated[
        int, typer.Option(help="Times each correction is learnt per epoch.")
    ] = 5,
    version: Annotated[str | None, typer.Option(help="Registry version name.")] = None,
    out: Annotated[Path | None, typer.Option(help="Checkpoint directory.")] = None,
    export: Annotated[bool, typer.Option(help="Export into the registry after training.")] = True,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Fine-tune one encoder with a sentiment head and a topic head; export into the registry."""
    # torch comes with the `train` extra only: import it when training is asked for.
    from models.training.publish import publish  # noqa: PLC0415
    from models.training.training import TrainConfig, base_name  # noqa: PLC0415
    from models.training.training import train as run_training  # noqa: PLC0415

    data = data_dir or default_data_dir()
    config = _validated(
        TrainConfig,
        **({"base": base} if base else {}),
        sentiment_train=_files(sentiment_train, "sentiment_train", data),
        topic_train=_files(topic_train, "topic_train", data),
        sentiment_dev=_files(sentiment_dev, "sentiment_dev", data),
        topic_dev=_files(topic_dev, "topic_dev", data),
        max_length=max_length,
        epochs=epochs,
        learning_rate=learning_rate,
        schedule=schedule,
        warmup_ratio=warmup_ratio,
        batch_size=batch_size,
        seed=seed,
        patience=patience,
        topic_class_weights=class_weights,
        sentiment_class_weights=sentiment_class_weights,
        lora_r=lora_r,
        limit=limit,
        normalise_links=normalise_links,
        ema_decay=ema_decay,
        label_smoothing=label_smoothing,
        distil_weight=distil_weight,
        distil_temperature=distil_temperature,
        feedback=feedback,
        feedback_weight=feedback_weight,
    )
    name = version or f"{base_name(config.base).lower()}-{utc_now()[:19].replace(':', '')}"
    registry = _registry(ctx)
    checkpoint = out or registry.root.parent / "checkpoints" / name
    with TrainProgress(err) as progress:
        meta = run_training(config, checkpoint, progress.update, _command_line())
    result: dict[str, Any] = {"checkpoint": str(checkpoint), "dev_metrics": meta["dev_metrics"]}
    if export:
        err.print(f"exporting {name} (ONNX fp32, int8, fp16) and checking it against PyTorch")
        target, model_card = publish(checkpoint, registry, name, _command_line())
        result |= {"version": name, "path": str(target), "variants": model_card["variants"]}
    if as_json:
        echo_json(result)
    else:
        err.print(f"[green]done[/]: {result.get('path', checkpoint)}")


@app.command("export")
def export_cmd(
    ctx: typer.Context,
    checkpoint: Annotated[Path, typer.Argument(exists=True, file_okay=False)],
    version: Annotated[str, typer.Option(help="Registry version name.")],
    variant: Annotated[
        list[str] | None,
        typer.Option(help="Only these variants: fp32, int8, fp16 (repeatable; default: all)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Export a training checkpoint to ONNX (fp32, int8, fp16), verified, into the registry."""
    unknown = sorted(set(variant or ()) - set(VARIANT_FILES))
    if unknown:
        raise typer.BadParameter(
            f"unknown variant {', '.join(unknown)} (known: {', '.join(VARIANT_FILES)})",
            param_hint="--variant",
        )
    chosen = tuple(v for v in VARIANT_FILES if not variant or v in variant)
    from models.training.publish import publish  # noqa: PLC0415 (torch, `train` extra)

    target, model_card = publish(checkpoint, _registry(ctx), version, _command_line(), chosen)
    if as_json:
        echo_json({"version": version, "path": str(target), "variants": model_card["variants"]})
    else:
        err.print(f"[green]exported[/] {version} → {target}")


@app.command("average")
def average_cmd(
    ctx: typer.Context,
    first: Annotated[Path, typer.Argument(exists=True, file_okay=False, help="A checkpoint.")],
    second: Annotated[
        Path, typer.Argument(exists=True, file_okay=False, help="One trained from the same start.")
    ],
    weight: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Share of SECOND in the mean (0-1).")
    ] = 0.5,
    version: Annotated[str, typer.Option(help="Name of the averaged checkpoint.")] = "",
    out: Annotated[Path | None, typer.Option(help="Checkpoint directory.")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Average the weights of two checkpoints trained on from the same one (a model soup):
    keeps part of what SECOND learnt at a fraction of what it cost elsewhere. Writes a
    checkpoint with its dev figures; `undertow export` it like any other."""
    from models.training.averaging import average  # noqa: PLC0415 (torch, `train` extra)

    if not 0.0 < weight < 1.0:
        raise typer.BadParameter("must be between 0 and 1, both excluded", param_hint="--weight")
    if not version and out is None:
        raise typer.BadParameter(
            "name the result (--version) or give --out", param_hint="--version"
        )
    checkpoint = out or _registry(ctx).root.parent / "checkpoints" / version
    if checkpoint.resolve() in (first.resolve(), second.resolve()):
        raise typer.BadParameter("must not overwrite FIRST or SECOND", param_hint="--out")
    try:
        meta = average(first, second, weight, checkpoint, _command_line())
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="FIRST, SECOND") from exc
    result = {"checkpoint": str(checkpoint), "weight": weight, "dev_metrics": meta["dev_metrics"]}
    if as_json:
        echo_json(result)
    else:
        for name, m in meta["dev_metrics"].items():
            err.print(f"  {name}: accuracy {m['accuracy']:.4f}, macro-F1 {m['macro_f1']:.4f}")
        err.print(f"[green]averaged[/] {first.name} and {second.name} ({weight:g}) → {checkpoint}")


def _model_dir(ctx: typer.Context, model: str | None) -> Path:

    if model is None:
        configured = app_context(ctx).settings().models.model_dir
        return configured if configured is not None else _registry(ctx).current_path()
    path = Path(model)
    return path if path.is_dir() else _registry(ctx).path(model)


def _scorer(ctx: typer.Context, model: str | None, device: str | None = None) -> Scorer:
    return scorer_for(app_context(ctx).settings().models, _model_dir(ctx, model), device)


ModelOpt = Annotated[
    str | None, typer.Option(help="Version name or directory (default: the current version).")
]


@app.command()
def evaluate(
    ctx: typer.Context,
    task: Annotated[str, typer.Option(help="sentiment or topic.")],
    data: Annotated[Path, typer.Option(exists=True, dir_okay=False, help="CSV text,label.")],
    model: ModelOpt = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Accuracy, macro-F1, per-class precision/recall/F1 and the confusion matrix on a CSV."""

    if task not in ("sentiment", "topic"):
        raise typer.BadParameter("must be sentiment or topic", param_hint="--task")
    result = run_eval(_scorer(ctx, model), task, data)  # type: ignore[arg-type]
    table = Table("label", "precision", "recall", "F1", "support")
    for label, m in result["per_class"].items():
        table.add_row(
            label,
            f"{m['precision']:.3f}",
            f"{m['recall']:.3f}",
            f"{m['f1']:.3f}",
            str(m["support"]),
        )
    err.print(table)
    err.print(
        f"{result['model']['version']} on {data}: n={result['n']} "
        f"accuracy={result['accuracy']:.4f} macro-F1={result['macro_f1']:.4f}"
    )
    if as_json:
        echo_json(result)


@app.command("soft-labels")
def soft_labels(
    ctx: typer.Context,
    task: Annotated[str, typer.Option(help="sentiment or topic.")],
    data: Annotated[
        Path,
        typer.Option(exists=True, dir_okay=False, help="CSV with a text column; label optional."),
    ],
    out: Annotated[Path, typer.Option(dir_okay=False, help="Where to write the CSV.")],
    model: ModelOpt = None,
    relabel: Annotated[
        bool,
        typer.Option(
            help="Ignore DATA's labels (e.g. another task's): every row gets the model's own."
        ),
    ] = False,
) -> None:
    """Write DATA again with the model's probability of every label (p_<label> columns):
    soft targets for `undertow train` to distil this model into another. Rows without a label
    get the model's most likely one, so unlabelled text can serve as a transfer set."""
    if task not in ("sentiment", "topic"):
        raise typer.BadParameter("must be sentiment or topic", param_hint="--task")
    if out.resolve() == data.resolve():
        raise typer.BadParameter("must not be the --data file", param_hint="--out")
    scorer = _scorer(ctx, model)
    written = write_soft_labels(scorer, task, data, out, relabel)  # type: ignore[arg-type]
    err.print(f"{scorer.version}: {written} rows with soft {task} targets → {out}")


@app.command("written-data")
def written_data(
    out: Annotated[Path, typer.Option(dir_okay=False, help="Where to write the CSV.")],
    count: Annotated[int, typer.Option(min=1, max=1_000_000, help="How many rows.")] = 3000,
    seed: Annotated[int, typer.Option(help="The same seed writes the same rows.")] = 13,
    events: Annotated[
        float,
        typer.Option(
            min=0.0,
            max=0.9,
            help="Share of rows that are corporate-event headlines scored from the company's "
            "side (deals, fund-raising, new chiefs positive; departures, settlements, "
            "failed deals negative), as news-headline sets score them. 0 adds none.",
        ),
    ] = 0.0,
) -> None:
    """Write sentiment rows composed from text written for undertow (trader posts and market
    headlines with made-up tickers and companies) as a `text,label` CSV for `undertow train
    --sentiment-train`: the kinds of text the licensed sets hardly label. Free to ship; keep
    "written" at the start of the file's name and the model card names that licence."""
    from models.training.written import write_written  # noqa: PLC0415 (the train extra)

    try:
        write_written(out, count, seed, events)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--count") from exc
    err.print(f"{count} written sentiment rows (seed {seed}, events {events:g}) → {out}")


def _shadow_report(root: Path, version: str, at_least: int) -> dict[str, Any]:
    """The shadow comparison of ``version`` (what the promotion log keeps of it), or GateError."""
    from undertow.compare import report_path  # noqa: PLC0415 (the shell's compare)

    path = report_path(root, version)
    if not path.exists():
        raise GateError(f"no shadow report for {version}: run `undertow worker --role shadow "
                        f"--model {version}` beside the live workers, then `undertow models "
                        f"compare {version}`")  # fmt: skip
    report = orjson.loads(path.read_bytes())
    if report["compared"] < at_least:
        raise GateError(f"the shadow report of {version} compared {report['compared']} live "
                        f"documents; --require-shadow asks for {at_least}")  # fmt: skip
    return {
        "compared": report["compared"], "until": report["until"],
        "sentiment_agreement": report["sentiment"]["agreement"],
        "topic_agreement": report["topic"]["agreement"],
    }  # fmt: skip


@app.command()
def promote(
    ctx: typer.Context,
    version: Annotated[str, typer.Argument(help="The registry version to make current.")],
    eval_files: Annotated[
        list[str] | None,
        typer.Option("--eval", help="Gate set: FILE, sentiment:FILE or topic:FILE (repeatable)."),
    ] = None,
    reason: Annotated[str, typer.Option(help="Why; kept in the promotion log.")] = "",
    force: Annotated[bool, typer.Option(help="Skip the gate (recorded as forced).")] = False,
    tolerance: Annotated[float, typer.Option(help="Allowed drop per set.")] = 0.0,
    require_shadow: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Refuse unless `models compare VERSION` compared at least this "
            "many live documents (a shadow report).",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Make VERSION current if it is at least as good as the current one on every --eval set
    (and, with --require-shadow N, was compared on at least N live documents)."""

    registry = _registry(ctx)
    registry.path(version)  # an unknown version fails here, before any evaluation
    shadow = _shadow_report(registry.root, version, require_shadow) if require_shadow else None
    try:
        current: str | None = registry.current()
    except ModelError:  # no current version at all: nothing to beat
        current = None
    if not eval_files and not force:
        raise typer.BadParameter("give at least one --eval set, or --force", param_hint="--eval")
    results: dict[str, Any] = {"candidate": {}, "current": {}}
    lines: list[str] = []
    passed = True
    if eval_files and current is not None and current != version:
        cand, cur = _scorer(ctx, version), _scorer(ctx, current)
        for spec in eval_files:
            task, path = task_of(spec, cand.sentiment_labels)
            results["candidate"][spec] = run_eval(cand, task, path)
            results["current"][spec] = run_eval(cur, task, path)
        passed, lines = gate(results["candidate"], results["current"], tolerance)
    for line in lines:
        err.print(line)
    if not passed and not force:
        raise GateError(
            f"{version} is worse than {current}; not promoted (use --force to override)"
        )
    who = os.environ.get("USER") or os.environ.get("LOGNAME") or "unknown"
    promotion = registry.set_current(
        version,
        by=who,
        reason=reason or ("forced" if force else "passed the gate"),
        previous=current,
        forced=force and not passed,
        gate=lines,
        **({"shadow": shadow} if shadow else {}),
    )
    err.print(f"[green]promoted[/] {version} (was {current})")
    if as_json:
        echo_json(promotion.model_dump(mode="json"))


@app.command()
def bench(
    ctx: typer.Context,
    model_only: Annotated[
        bool, typer.Option("--model-only", help="Scorer alone, no stack.")
    ] = False,
    docs: Annotated[int, typer.Option(min=1, help="Documents per throughput phase.")] = 8000,
    rate: Annotated[
        float | None,
        typer.Option(min=0.1, help="Docs/s of the latency phase (default: half the e2e rate)."),
    ] = None,
    latency_s: Annotated[
        float, typer.Option(min=1, help="Seconds of the steady latency phase.")
    ] = 60.0,
    naive_docs: Annotated[
        int, typer.Option(min=0, help="Documents through the naive peer (0 = skip it).")
    ] = 500,
    model: ModelOpt = None,
    device: Annotated[str | None, typer.Option(help="auto, cpu or cuda.")] = None,
    evaluator: Annotated[
        bool, typer.Option("--evaluator", help="Time the alert evaluator's tick instead.")
    ] = False,
    scopes: Annotated[
        int, typer.Option(min=30, max=200_000, help="Live scopes of the --evaluator bench.")
    ] = 10_000,
    ticks: Annotated[
        int, typer.Option(min=2, max=1000, help="Ticks of the --evaluator bench.")
    ] = 30,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Measure speed: the Scorer alone (--model-only), the alert evaluator's tick over N live
    scopes (--evaluator), or in one run the Scorer alone, the whole pipeline (throughput and
    latency at half load), and the naive peer.

    The pipeline and evaluator benches start the local stack if it is not running, work on
    bench-only topics, groups, Redis keys and indices, and remove them afterwards.
    """
    if device not in (None, "auto", "cpu", "cuda"):
        raise typer.BadParameter("must be auto, cpu or cuda", param_hint="--device")
    if evaluator:
        result = _evaluator_bench(ctx, scopes, ticks)
    elif model_only:
        err.print(f"scoring {docs} documents with the production batching policy ...")
        alone = run_model_only(_scorer(ctx, model, device), load_corpus(), docs)
        alone.code_version = code_version()
        err.print(
            f"{alone.model_only_dps:.0f} docs/s on {alone.device} "
            f"({alone.variant}, batch {alone.batch}, {alone.threads} threads); entity linking "
            f"{alone.entity_linking_ms_per_doc} ms/doc, {alone.entity_linking_share:.1%} of "
            "linking + scoring"
        )
        from undertow.bench import story_cost  # noqa: PLC0415 (the shell's bench module)

        stories = story_cost(load_corpus(), docs, alone.seconds, alone.entity_linking_ms_per_doc)
        err.print(
            f"story detection {stories['story_detection_ms_per_doc']} ms/doc, "
            f"{stories['story_detection_share']:.1%} of the worker's per-document work"
        )
        result = alone.model_dump(mode="json") | stories
    else:
        from undertow.bench import run_bench  # noqa: PLC0415 (not needed by --model-only)

        context = app_context(ctx)
        bench = run_bench(
            context.settings(),
            context.config_path,
            docs=docs,
            rate=rate,
            latency_s=latency_s,
            naive_docs=naive_docs,
            model_dir=_model_dir(ctx, model),
            device=device,
            log_level=logging.getLevelName(logging.getLogger().level),
            progress=lambda msg: err.print(f"[dim]bench[/] {msg}", highlight=False),
        )
        bench.code_version = code_version()
        result = bench.model_dump(mode="json", exclude_none=True)
        err.print(_bench_table(result))
    if as_json:
        echo_json(result)


def _evaluator_bench(ctx: typer.Context, scopes: int, ticks: int) -> dict[str, Any]:
    from deploy.stack.manager import Stack  # noqa: PLC0415 (only the stack benches need it)
    from undertow.bench_evaluator import run_evaluator_bench  # noqa: PLC0415

    settings = app_context(ctx).settings()

    def progress(msg: str) -> None:
        err.print(f"[dim]bench[/] {msg}", highlight=False)

    with Stack(settings.stack, progress=lambda msg: progress(f"stack: {msg}")).running():
        result = run_evaluator_bench(
            settings, scopes=scopes, ticks=ticks, tick_s=settings.alerting.tick_s,
            progress=progress,
        )  # fmt: skip
    result["code_version"] = code_version()
    err.print(
        f"{scopes} scopes: first tick {result['first_tick_s']} s, then p50 "
        f"{result['tick_s_p50']} s, max {result['tick_s_max']} s; fired {len(result['fired'])}"
    )
    return result


def _naive_rows(result: dict[str, Any]) -> list[tuple[str, str]]:
    if "naive_dps" not in result:
        return [("naive peer", "-")]
    tasks, first = " + ".join(result["naive_tasks"]), result["naive_tasks"][0]
    return [
        (f"naive peer ({tasks})", f"{result['naive_dps']:.1f} docs/s"),
        ("speedup vs naive", f"{result['speedup_vs_naive']}x"),
        (f"naive peer ({first} only)", f"{result['naive_one_task_dps']:.1f} docs/s"),
        (f"speedup vs naive ({first} only)", f"{result['speedup_vs_naive_one_task']}x"),
    ]


def _bench_table(result: dict[str, Any]) -> Table:
    table = Table("measure", "value", title="undertow bench")
    lat = result["latency_ms"]
    rows = [
        ("model only", f"{result['model_only_dps']:.0f} docs/s"),
        ("entity linking", f"{result.get('entity_linking_share', 0):.1%} of linking + scoring"),
        ("story detection", f"{result.get('story_detection_share', 0):.1%} of the worker's work"),
        ("end to end", f"{result['e2e_dps']:.0f} docs/s"),
        ("efficiency", f"{result['efficiency']:.2f}"),
        *_naive_rows(result),
        (
            f"latency at {result['latency_rate']:.0f}/s",
            f"p50 {lat['p50']:.0f} ms, p95 {lat['p95']:.0f} ms, p99 {lat['p99']:.0f} ms",
        ),
        ("worker peak RSS", ", ".join(f"{k} {v} MB" for k, v in result["worker_rss_mb"].items())),
        ("cores in use, e2e", ", ".join(f"{k} {v}" for k, v in result["e2e_cpu_cores"].items())),
        ("device", f"{result['device']} {result['providers']} ({result['variant']})"),
        ("model", f"{result['model']['name']} {result['model']['version']}"),
    ]
    for row in rows:
        table.add_row(*row)
    return table
