"""Checkpoint → registry version: export the ONNX variants, then write the model card."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from models.serving.benchmark import load_corpus, model_only
from models.serving.registry import Registry
from models.serving.scorer import Scorer
from models.serving.variants import VARIANT_FILES
from models.training import card
from models.training.export import export

SPEED_DOCS = 2000


def publish(
    checkpoint: Path,
    registry: Registry,
    version: str,
    command: str,
    variants: tuple[str, ...] = tuple(VARIANT_FILES),
) -> tuple[Path, dict[str, Any]]:
    """Export ``checkpoint`` as ``version`` (those ``variants``) into the registry (not current
    yet)."""
    target = registry.new_version_dir(version)
    try:
        result = export(checkpoint, target, variants)
    except BaseException:
        shutil.rmtree(target, ignore_errors=True)  # no half-written version in the registry
        raise
    meta = result["meta"]
    model_card: dict[str, Any] = {
        "version": version,
        **meta,
        "variants": result["checks"],
        "test_metrics": None,
        "speed": {},
        # The command that reproduces the weights, and the one that made this version of them.
        "command": meta.get("train_command") or command,
        "export_command": command,
    }
    card.write(target, model_card)  # the Scorer that measures speed reads the card
    model_card["speed"] = measure_speed(target)
    card.write(target, model_card)
    return target, model_card


def measure_speed(version_dir: Path) -> dict[str, Any]:
    """Model-only docs/s of each CPU variant, with the production batching policy."""
    speed = {}
    for variant in ("int8", "fp32"):
        if (version_dir / VARIANT_FILES[variant]).exists():
            scorer = Scorer(version_dir, device="cpu", variant=variant)
            speed[f"{variant}-cpu"] = model_only(scorer, load_corpus(), SPEED_DOCS)
    return {
        name: {"docs_per_s": r.model_only_dps, "batch": r.batch, "threads": r.threads,
               "providers": r.providers}
        for name, r in speed.items()
    }  # fmt: skip
