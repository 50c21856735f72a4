"""What a machine offers the Scorer and what the Scorer makes of it (``undertow models
doctor``), and the GPU check (``undertow models gpu-check``): the Scorer on CUDA, its fp16
variant's agreement with fp32 on real texts, and model-only speed."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import onnxruntime as ort

from models.exceptions import ModelError
from models.serving.scorer import CUDA, Scorer
from models.serving.variants import VARIANT_FILES
from models.settings import ModelSettings


def doctor(cfg: ModelSettings, model_dir: Path) -> dict[str, Any]:
    """The providers ONNX Runtime offers, the version's variants, and what the Scorer chose
    with the settings, with why."""
    offered = ort.get_available_providers()
    variants = [v for v, f in VARIANT_FILES.items() if (model_dir / f).exists()]
    report: dict[str, Any] = {
        "onnxruntime": ort.__version__,
        "device_setting": cfg.device,
        "variant_setting": cfg.variant,
        "providers_offered": offered,
        "model_dir": str(model_dir),
        "variants": variants,
    }
    try:
        scorer = Scorer(model_dir, device=cfg.device, variant=cfg.variant, threads=cfg.threads)
    except ModelError as exc:
        return report | {"chosen": None, "why": str(exc)}
    runtime = scorer.runtime
    report |= {"chosen": {"device": runtime.device, "providers": runtime.providers,
                          "variant": runtime.variant, "threads": runtime.threads}}  # fmt: skip
    return report | {"why": _why(cfg.device, offered, variants, runtime.device)}


def _why(setting: str, offered: list[str], variants: list[str], device: str) -> str:
    if device == "cuda":
        return "CUDA is offered and the version has a GPU variant (fp16 or fp32)"
    if setting == "cpu":
        return "models.device is cpu"
    if CUDA not in offered:
        return (
            "this onnxruntime offers no CUDA provider (install the gpu extra, "
            "onnxruntime-gpu[cuda,cudnn], instead of onnxruntime)"
        )
    if not {"fp16", "fp32"} & set(variants):
        return "the version has no GPU variant: `undertow models gpu-variants` writes them"
    return "the CUDA provider did not initialise (no GPU, or its driver is missing): see the log"


def gpu_check(model_dir: Path, texts: Sequence[str], device: str = "cuda") -> dict[str, Any]:
    """fp16 against fp32 on ``texts`` (label agreement per task, largest probability
    difference) and model-only speed of each, on ``device`` (cpu: a dry run)."""
    fp32 = Scorer(model_dir, device=device, variant="fp32")
    fp16 = Scorer(model_dir, device=device, variant="fp16")
    if fp16.runtime.device != device:
        raise ModelError(f"the Scorer is on {fp16.runtime.device}, not {device}")
    a, b = fp32.score(texts), fp16.score(texts)
    agree_s = sum(x.sentiment == y.sentiment for x, y in zip(a, b, strict=True)) / len(texts)
    agree_t = sum(x.topic == y.topic for x, y in zip(a, b, strict=True)) / len(texts)
    diff = max(abs(x.sentiment_probs[k] - y.sentiment_probs[k])
               for x, y in zip(a, b, strict=True) for k in x.sentiment_probs)  # fmt: skip
    return {
        "device": fp16.runtime.device,
        "providers": fp16.runtime.providers,
        "texts": len(texts),
        "agreement": {"sentiment": round(agree_s, 4), "topic": round(agree_t, 4)},
        "max_sentiment_prob_diff": round(diff, 4),
        "docs_per_s": {"fp32": _speed(fp32, texts), "fp16": _speed(fp16, texts)},
    }


def _speed(scorer: Scorer, texts: Sequence[str], rounds: int = 3) -> float:
    """Documents per second, the best of ``rounds`` passes after a warm-up."""
    scorer.score(texts[:64])
    best = 0.0
    for _ in range(rounds):
        began = time.perf_counter()
        scorer.score(texts)
        best = max(best, len(texts) / (time.perf_counter() - began))
    return round(best, 1)
