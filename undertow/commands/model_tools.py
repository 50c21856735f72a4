"""``undertow models doctor | gpu-variants | gpu-check | calibrate | compare``: what this machine
offers the Scorer, the GPU variants of a version that has only INT8, the GPU check, calibration,
and a candidate's shadow answers against the live model's."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
from rich.console import Console
from rich.table import Table

from models.exceptions import ModelError
from models.serving.benchmark import BENCH_CORPUS
from models.serving.diagnose import doctor, gpu_check
from models.serving.registry import SHIPPED_DIR
from models.serving.runtime import registry_for, scorer_for
from undertow.context import app_context
from undertow.exceptions import ShellError

app = typer.Typer(
    help="The model at inference: what runs where, GPU variants, the GPU check.",
    no_args_is_help=True,
)
err = Console(stderr=True)
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout.")]
ModelOpt = Annotated[
    str | None, typer.Option("--model", help="A version or a version directory (default: current).")
]


class ModelToolError(ShellError):
    """A model tool that cannot do what it was asked."""


def _model_dir(ctx: typer.Context, model: str | None) -> Path:
    settings = app_context(ctx).settings().models
    if model is not None and Path(model).is_dir():
        return Path(model)
    if settings.model_dir is not None and model is None:
        return settings.model_dir
    registry = registry_for(settings)
    try:
        return registry.path(model or registry.current())
    except ModelError as exc:
        raise ModelToolError(str(exc)) from exc


@app.command("doctor")
def doctor_cmd(ctx: typer.Context, model: ModelOpt = None, as_json: JsonOpt = False) -> None:
    """The providers ONNX Runtime offers here, the version's variants, the provider and variant
    the Scorer chose, and why."""
    report = doctor(app_context(ctx).settings().models, _model_dir(ctx, model))
    if as_json:
        typer.echo(orjson.dumps(report).decode())
    else:
        for key, value in report.items():
            typer.echo(f"{key}: {value}")
    if report["chosen"] is None:
        raise typer.Exit(1)


@app.command("gpu-variants")
def gpu_variants_cmd(
    ctx: typer.Context,
    model: ModelOpt = None,
    shipped: Annotated[bool, typer.Option(help="Every version shipped with undertow.")] = False,
) -> None:
    """Write the fp32 and fp16 variants of a version that has only its INT8 graph (the shipped
    model), by dequantizing its weights, so it runs on a GPU. The GPU image does it at build."""
    from models.training.dequantize import write_gpu_variants  # noqa: PLC0415 (onnx: gpu, train)

    dirs = [p for p in SHIPPED_DIR.iterdir() if p.is_dir()] if shipped else [_model_dir(ctx, model)]
    for model_dir in dirs:
        written = write_gpu_variants(model_dir)
        err.print(f"{model_dir.name}: " + (f"wrote {', '.join(written)}" if written else
                                          "has its GPU variants already"))  # fmt: skip


@app.command("gpu-check")
def gpu_check_cmd(
    ctx: typer.Context,
    model: ModelOpt = None,
    device: Annotated[str, typer.Option(help="cuda, or cpu for a dry run.")] = "cuda",
    texts: Annotated[Path, typer.Option(exists=True, dir_okay=False, help="One text a line.")] = (
        BENCH_CORPUS
    ),
    limit: Annotated[int, typer.Option(min=16, help="At most this many texts.")] = 2000,
    as_json: JsonOpt = False,
) -> None:
    """The Scorer on CUDA: fp16's label agreement with fp32 on real texts, and model-only speed
    of each (exit 1 if the Scorer is not on the device, or agreement is under 98%)."""
    if device not in ("cuda", "cpu"):
        raise typer.BadParameter("cuda or cpu", param_hint="--device")
    lines = [t for t in texts.read_text(encoding="utf-8").splitlines() if t.strip()][:limit]
    try:
        report = gpu_check(_model_dir(ctx, model), lines, device)
    except ModelError as exc:
        raise ModelToolError(str(exc)) from exc
    typer.echo(orjson.dumps(report).decode() if as_json else
               "\n".join(f"{k}: {v}" for k, v in report.items()))  # fmt: skip
    if min(report["agreement"].values()) < 0.98:
        raise typer.Exit(1)


# The dev sets a calibration is fitted on (the sets the model was trained for) and the five the
# card reports, relative to the data directory.
FIT_SETS = {
    "sentiment": ["twitter_financial_news_sentiment/dev.csv", "financial_phrasebank/dev.csv"],
    "topic": ["twitter_financial_news_topic/dev.csv"],
}
REPORT_SETS = [
    ("sentiment", "twitter_financial_news_sentiment/dev.csv"),
    ("sentiment", "financial_phrasebank/dev.csv"),
    ("topic", "twitter_financial_news_topic/dev.csv"),
    ("sentiment", "semeval2017_task5_headlines/dev.csv"),
    ("sentiment", "fiqa2018_task1_posts/dev.csv"),
]


NEGATIVE_PRECISIONS = (0.8, 0.85, 0.9, 0.95)


def _on_dev(scorer: Any, root: Path) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
    """From one pass of the served model over the fit dev splits: per task, each label's share
    and the mean probability of the predicted label (the drift metrics' reference); and per
    target precision, the negative probability that reaches it, with the recall it leaves (for
    ``models.negative_min_prob``)."""
    import numpy as np  # noqa: PLC0415

    from models.serving.calibration import min_prob_for_precision  # noqa: PLC0415
    from models.training.datasets import read_csv  # noqa: PLC0415 (the train extra)

    reference: dict[str, dict[str, Any]] = {}
    thresholds: dict[str, Any] = {}
    for task, rels in FIT_SETS.items():
        names = scorer.sentiment_labels if task == "sentiment" else scorer.topic_labels
        rows = [read_csv(root / rel, names) for rel in rels]
        texts = [t for texts, _ in rows for t in texts]
        gold = np.asarray([y for _, labels in rows for y in labels])
        sentiment, topic = scorer.probabilities(texts)
        probs = sentiment if task == "sentiment" else topic
        picked = probs.argmax(axis=1)
        reference[task] = {
            "n": len(texts),
            "shares": {name: round(float((picked == i).mean()), 4) for i, name in enumerate(names)},
            "mean_confidence": round(float(probs.max(axis=1).mean()), 4),
        }
        if task == "sentiment":
            negative = names.index("negative")
            thresholds = {f"{target:g}": min_prob_for_precision(probs, gold, negative, target)
                          for target in NEGATIVE_PRECISIONS}  # fmt: skip
    return reference, thresholds


@app.command("calibrate")
def calibrate_cmd(
    ctx: typer.Context,
    model: ModelOpt = None,
    data_dir: Annotated[
        Path | None,
        typer.Option(
            file_okay=False,
            help="The labelled sets (default: $UNDERTOW_DATA_DIR or ../shared/data).",
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Fit a temperature per task on the dev splits, measure the served model (calibrated) on
    the five dev splits, and write both into the version's card (card.json and card.md). The
    Scorer applies the temperatures from then on; a running worker does at its next load."""
    from models.training import card as card_io  # noqa: PLC0415 (the train extra's yaml/numpy)
    from models.training.evaluation import calibrate_version, evaluate  # noqa: PLC0415
    from undertow.commands.models import default_data_dir  # noqa: PLC0415

    settings = app_context(ctx).settings().models
    model_dir = _model_dir(ctx, model)
    root = data_dir or default_data_dir()
    missing = [
        str(root / rel) for rels in FIT_SETS.values() for rel in rels if not (root / rel).exists()
    ]
    if missing:
        raise ModelToolError(f"dev sets not found: {', '.join(missing)} (set --data-dir)")
    err.print(f"{model_dir.name}: fitting temperatures on the dev splits ...")
    raw = scorer_for(settings, model_dir, calibrate=False)
    fitted = calibrate_version(
        raw,
        {task: [root / rel for rel in rels] for task, rels in FIT_SETS.items()},  # type: ignore[misc]
        dataset_name=lambda p: f"{p.parent.name}/{p.name}",
    )
    card = orjson.loads((model_dir / "card.json").read_bytes())
    card["calibration"] = {task: c.model_dump() for task, c in fitted.items()}
    card_io.write(model_dir, card)  # the Scorer below reads the temperatures from it
    served = scorer_for(settings, model_dir)
    sets: dict[str, dict[str, object]] = {}
    for task, rel in REPORT_SETS:
        if not (root / rel).exists():
            err.print(f"[yellow]{rel} not found: not in the card[/]")
            continue
        result = evaluate(served, task, root / rel)  # type: ignore[arg-type]
        sets[f"{task}:{rel}"] = {
            "n": result["n"],
            "accuracy": result["accuracy"],
            "macro_f1": result["macro_f1"],
            "ece": result.get("ece"),
        }
        err.print(
            f"  {task}:{rel}: accuracy {result['accuracy']:.4f}, macro-F1 "
            f"{result['macro_f1']:.4f}, ECE {result.get('ece', float('nan')):.4f}"
        )
    card["evaluation"] = {"variant": served.runtime.variant, "sets": sets}
    card["reference"], card["negative_thresholds"] = _on_dev(served, root)
    card_io.write(model_dir, card)
    for task, c in fitted.items():
        err.print(
            f"{task}: temperature {c.temperature:.3f}, ECE {c.ece_before:.4f} -> "
            f"{c.ece_after:.4f} (out of fold), NLL {c.nll_before:.4f} -> {c.nll_after:.4f}"
        )
    if as_json:
        typer.echo(
            orjson.dumps(
                {
                    "version": served.version,
                    "calibration": card["calibration"],
                    "evaluation": card["evaluation"],
                }
            ).decode()
        )


def _print_report(report: dict[str, object]) -> None:
    """The comparison as a person reads it."""
    out = Console()
    out.print(f"[bold]{report['candidate']}[/] against the live model "
              f"{report['live_models']}: {report['compared']} documents compared "
              f"({report['shadow_answers']} shadow answers)")  # fmt: skip
    for task in ("sentiment", "topic"):
        figures = report[task]
        assert isinstance(figures, dict)
        out.print(f"{task}: agreement {figures['agreement']}, live {figures['live_labels']}, "
                  f"candidate {figures['candidate_labels']}")  # fmt: skip
        if task == "sentiment":
            labels = sorted(set(figures["live_labels"]) | set(figures["candidate_labels"]))
            table = Table("live \\ candidate", *labels, title="sentiment confusion")
            for live in labels:
                row = figures["confusion"].get(live, {})
                table.add_row(live, *(str(row.get(c, 0)) for c in labels))
            out.print(table)
    sources = Table("source", "n", "sentiment agreement", "topic agreement",
                    "negative share live → candidate", title="per source")  # fmt: skip
    by_source = report["by_source"]
    assert isinstance(by_source, dict)
    for source, s in by_source.items():
        share = f"{s['negative_share']['live']} → {s['negative_share']['candidate']}"
        sources.add_row(source, str(s["n"]), str(s["sentiment_agreement"]),
                        str(s["topic_agreement"]), share)  # fmt: skip
    out.print(sources)
    alerts = report.get("alerts")
    if isinstance(alerts, dict) and "skipped" in alerts:
        out.print(f"alerts: not backtested ({alerts['skipped']})")
    elif isinstance(alerts, dict):
        out.print(f"alerts (current thresholds, same documents): live {alerts['live']}, "
                  f"candidate {alerts['candidate']}, both {alerts['both']}")  # fmt: skip
        for name in ("only_live", "only_candidate"):
            for item in alerts[name]:
                out.print(f"  {name.replace('_', ' ')}: {item}")


@app.command("compare")
def compare_cmd(
    ctx: typer.Context,
    candidate: Annotated[str, typer.Argument(help="The candidate version a shadow worker ran.")],
    since: Annotated[str, typer.Option(help="How far back to compare, e.g. 24h or 7d.")] = "24h",
    as_json: JsonOpt = False,
) -> None:
    """The candidate's shadow answers against the live model's: agreement per task, their
    confusion, differences per source, and the alerts the current thresholds would fire
    differently with the candidate's labels. Kept in the registry for promote
    --require-shadow; exit 1 when there is nothing to compare."""
    from streaming.durations import parse_duration  # noqa: PLC0415
    from undertow.compare import compare  # noqa: PLC0415 (alerting + streaming: the shell)

    settings = app_context(ctx).settings()
    report = compare(
        settings, candidate, registry_for(settings.models).root, since=parse_duration(since),
        progress=lambda msg: err.print(f"[dim]{msg}[/]", highlight=False),
    )  # fmt: skip
    if as_json:
        typer.echo(orjson.dumps(report).decode())
    else:
        _print_report(report)
    if not report["compared"]:
        err.print(f"nothing to compare: run `undertow worker --role shadow --model {candidate}` "
                  "beside the live workers first")  # fmt: skip
        raise typer.Exit(1)
