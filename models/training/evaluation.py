"""Evaluate a model version on a labelled file, and the promotion gate built on it."""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import numpy as np

from models.exceptions import DataError
from models.serving.calibration import TaskCalibration, apply, calibrate, ece
from models.serving.scorer import Scorer
from models.training.datasets import SOFT_PREFIX, read_csv, soft_columns, unknown_label
from models.training.metrics import report

Task = Literal["sentiment", "topic"]
# What the gate compares per task: macro-F1 for the imbalanced 3-class sentiment, accuracy for
# topics (the figure the acceptance and the literature use).
GATE_METRIC: dict[str, str] = {"sentiment": "macro_f1", "topic": "accuracy"}


def evaluate(scorer: Scorer, task: Task, path: Path) -> dict[str, Any]:
    """Accuracy, macro-F1, per-class figures and confusion matrix of ``scorer`` on ``path``."""
    names = scorer.sentiment_labels if task == "sentiment" else scorer.topic_labels
    texts, gold = read_csv(path, names)
    sentiment, topic = scorer.probabilities(texts)
    probs = sentiment if task == "sentiment" else topic
    pred = probs.argmax(axis=1).tolist()
    result = report(gold, pred, names)
    result["ece"] = round(ece(probs, np.asarray(gold)), 4) if gold else None
    return {
        "task": task,
        "data": str(path),
        "model": {"name": scorer.name, "version": scorer.version},
        "variant": scorer.runtime.variant,
        **result,
    }


def task_of(spec: str, sentiment_labels: list[str]) -> tuple[Task, Path]:
    """``sentiment:FILE``, ``topic:FILE``, or a bare FILE whose labels decide the task."""
    prefix, sep, rest = spec.partition(":")
    if sep and prefix in ("sentiment", "topic"):
        return prefix, Path(rest)  # type: ignore[return-value]
    path = Path(spec)
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            labels = {row.get("label") for row in csv.DictReader(handle)}
    except OSError as exc:
        raise DataError(f"cannot read {path}: {exc.strerror}") from exc
    return ("sentiment" if labels <= set(sentiment_labels) else "topic"), path


def gate(
    candidate: dict[str, dict[str, Any]], current: dict[str, dict[str, Any]], tolerance: float
) -> tuple[bool, list[str]]:
    """Pass when the candidate is at least as good (within ``tolerance``) on every set."""
    ok = True
    lines = []
    for name, cand in candidate.items():
        metric = GATE_METRIC[cand["task"]]
        new, old = cand[metric], current[name][metric]
        passed = new >= old - tolerance
        ok &= passed
        verdict = "ok" if passed else "WORSE"
        lines.append(f"{name}: {metric} {new:.4f} vs current {old:.4f} ({verdict})")
    return ok, lines


def write_soft_labels(
    scorer: Scorer, task: Task, data: Path, out: Path, relabel: bool = False
) -> int:
    """``data`` again, every column kept, with the model's probability of each label in
    ``p_<label>`` columns (replacing any there were); returns the number of rows.

    A row without a label (no ``label`` column, or an empty one) gets the model's most likely
    label, so unlabelled text becomes a transfer set for distillation; so does every row with
    ``relabel`` (text labelled for another task). Otherwise a label the model does not know
    fails before anything is written, naming it, the file and the line.
    """
    names = scorer.sentiment_labels if task == "sentiment" else scorer.topic_labels
    try:
        with data.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            fields = list(reader.fieldnames or [])
            if "text" not in fields:
                raise DataError(f"{data}: missing column 'text'")
            rows = []
            for row in reader:
                row["label"] = "" if relabel else row.get("label") or ""
                if row["label"] and row["label"] not in names:
                    raise unknown_label(f"{data}:{reader.line_num}", row["label"], names)
                rows.append(row)
    except OSError as exc:
        raise DataError(f"cannot read {data}: {exc.strerror}") from exc
    if not rows:
        raise DataError(f"{data}: no rows")
    sentiment, topic = scorer.probabilities([row["text"] for row in rows])
    probs = sentiment if task == "sentiment" else topic
    kept = [f for f in fields if not f.startswith(SOFT_PREFIX)]
    if "label" not in kept:
        kept.insert(kept.index("text") + 1, "label")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    with tmp.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow([*kept, *soft_columns(names)])
        for row, p in zip(rows, probs, strict=True):
            row["label"] = row["label"] or names[int(p.argmax())]
            writer.writerow([*(row[f] for f in kept), *(f"{v:.6f}" for v in p)])
    tmp.replace(out)
    return len(rows)


def calibrate_version(
    scorer: Scorer, files: dict[Task, list[Path]], dataset_name: Callable[[Path], str] = str
) -> dict[str, TaskCalibration]:
    """A temperature per task fitted on its labelled dev ``files`` with ``scorer`` (built with
    ``calibrate=False``), with the calibration error before and after on each file."""
    out: dict[str, TaskCalibration] = {}
    for task, paths in files.items():
        if not paths:
            continue
        names = scorer.sentiment_labels if task == "sentiment" else scorer.topic_labels
        probs, gold, sets = [], [], []
        for path in paths:
            texts, labels = read_csv(path, names)
            sentiment, topic = scorer.probabilities(texts)
            probs.append(sentiment if task == "sentiment" else topic)
            gold.append(np.asarray(labels))
            sets.append(dataset_name(path))
        fitted = calibrate(np.concatenate(probs), np.concatenate(gold), sets)
        per_set = {
            name: {
                "n": len(y),
                "ece_before": round(ece(p, y), 4),
                "ece_after": round(ece(apply(p, fitted.temperature), y), 4),
            }
            for name, p, y in zip(sets, probs, gold, strict=True)
        }
        out[task] = fitted.model_copy(update={"per_set": per_set})
    return out
