"""Weight averaging of two checkpoints fine-tuned from the same start (a "model soup").

Two runs that go on from one checkpoint with different data stay close enough in weight space
that their weighted mean is a working model that sits between them: one run taught something
new (say, headlines scored the way news sets score them) at some cost elsewhere, and the mean
keeps part of the gain at a fraction of the cost, with no more training. See Wortsman et al.,
"Model soups" (ICML 2022). The averaged checkpoint is an ordinary one: export, calibrate and
promote it like any other.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from transformers import AutoTokenizer

from models.serving.provenance import code_version, utc_now
from models.training.network import CHECKPOINT_META, TwoHeadClassifier
from models.training.training import TrainConfig, dev_metrics

# What both checkpoints must share for their mean to mean anything.
SHARED = ("base_name", "sentiment_labels", "topic_labels", "max_length", "normalise_links")


def _merged_files(first: dict[str, Any], second: dict[str, Any]) -> dict[str, Any]:
    """The training files of both: the first's list, then the second's files it lacks."""
    merged: dict[str, Any] = {}
    for kind in sorted(set(first) | set(second)):
        rows = list(first.get(kind, []))
        seen = {(r["path"], r["sha256"]) for r in rows}
        rows += [r for r in second.get(kind, []) if (r["path"], r["sha256"]) not in seen]
        merged[kind] = rows
    return merged


def _parent(path: Path, meta: dict[str, Any]) -> dict[str, Any]:
    keys = ("base", "warm_start", "train_command", "dev_metrics", "data", "code_version")
    return {"checkpoint": str(path)} | {k: meta.get(k) for k in keys}


def average(
    first: Path, second: Path, weight: float, output: Path, command: str = ""
) -> dict[str, Any]:
    """Write ``(1 - weight) * first + weight * second`` to ``output``; return its metadata,
    with dev figures measured on the first's dev files."""
    if not 0.0 < weight < 1.0:
        raise ValueError(f"weight must be between 0 and 1 (exclusive), not {weight}")
    for path in (first, second):
        if not (path / CHECKPOINT_META).is_file():
            raise ValueError(
                f"{path} is not an undertow training checkpoint (no {CHECKPOINT_META})"
            )
    meta: dict[str, Any] = json.loads((first / CHECKPOINT_META).read_text())
    other_meta: dict[str, Any] = json.loads((second / CHECKPOINT_META).read_text())
    for key in SHARED:
        if meta.get(key) != other_meta.get(key):
            raise ValueError(
                f"the checkpoints differ in {key} ({meta.get(key)!r} / {other_meta.get(key)!r})"
            )
    config = TrainConfig.model_validate(meta["hyperparameters"])
    missing = [p for p in (*config.sentiment_dev, *config.topic_dev) if not p.is_file()]
    if missing:  # the mean's figures are measured where the first's were
        raise ValueError(f"{first}'s dev file {missing[0]} is not on this machine")
    model = TwoHeadClassifier.load(first)[0]
    other = TwoHeadClassifier.load(second)[0]
    mine, theirs = model.state_dict(), other.state_dict()
    if mine.keys() != theirs.keys() or any(v.shape != theirs[k].shape for k, v in mine.items()):
        raise ValueError("the checkpoints are not the same network (parameters differ)")
    model.load_state_dict(
        {
            k: torch.lerp(v, theirs[k], weight) if v.is_floating_point() else v
            for k, v in mine.items()
        }
    )
    tokenizer = AutoTokenizer.from_pretrained(str(first))
    out_meta = meta | {
        "base": str(first),
        "warm_start": True,
        "averaged": {
            "weight": weight,
            "first": _parent(first, meta),
            "second": _parent(second, other_meta),
        },
        "data": _merged_files(meta.get("data", {}), other_meta.get("data", {})),
        "dev_metrics": dev_metrics(model, config, tokenizer),
        "best_epoch": None,
        "history": [],
        "loss_curve": [],
        "train_seconds": 0.0,
        "code_version": code_version(),
        "created_at": utc_now(),
        "train_command": command,
    }
    model.save(output, out_meta)
    tokenizer.save_pretrained(str(output))
    return out_meta
