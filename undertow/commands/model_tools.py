"""``undertow models doctor | gpu-variants | gpu-check | calibrate``: what this machine offers
the Scorer, the GPU variants of a version that has only INT8, the GPU check, and calibration."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import orjson
import typer
from rich.console import Console

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
