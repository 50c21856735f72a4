"""``undertow models doctor | gpu-variants | gpu-check``: what this machine offers the Scorer,
the GPU variants of a version that has only INT8, and the GPU check."""

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
from models.serving.runtime import registry_for
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
