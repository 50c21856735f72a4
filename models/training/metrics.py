"""Classification metrics from a confusion matrix: accuracy, macro-F1, per-class P/R/F1."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


def confusion(y_true: Sequence[int], y_pred: Sequence[int], n: int) -> np.ndarray:
    """Rows are true labels, columns predicted labels."""
    matrix = np.zeros((n, n), dtype=np.int64)
    np.add.at(matrix, (np.asarray(y_true), np.asarray(y_pred)), 1)
    return matrix


def report(y_true: Sequence[int], y_pred: Sequence[int], names: Sequence[str]) -> dict[str, Any]:
    """Accuracy, macro-F1 over classes present in the data, per-class figures, the matrix."""
    matrix = confusion(y_true, y_pred, len(names))
    tp = np.diag(matrix).astype(float)
    support = matrix.sum(axis=1)
    predicted = matrix.sum(axis=0)
    precision = np.divide(tp, predicted, out=np.zeros_like(tp), where=predicted > 0)
    recall = np.divide(tp, support, out=np.zeros_like(tp), where=support > 0)
    denom = precision + recall
    f1 = np.divide(2 * precision * recall, denom, out=np.zeros_like(tp), where=denom > 0)
    present = support > 0
    per_class = {
        name: {
            "precision": round(float(precision[i]), 4),
            "recall": round(float(recall[i]), 4),
            "f1": round(float(f1[i]), 4),
            "support": int(support[i]),
        }
        for i, name in enumerate(names)
    }
    return {
        "n": int(matrix.sum()),
        "accuracy": round(float(tp.sum() / max(matrix.sum(), 1)), 4),
        "macro_f1": round(float(f1[present].mean()) if present.any() else 0.0, 4),
        "per_class": per_class,
        "labels": list(names),
        "confusion": matrix.tolist(),
    }
