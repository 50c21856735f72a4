"""Temperature scaling: probabilities that mean what they say.

A fine-tuned classifier is usually over-confident: of the documents it calls negative with 0.95,
fewer than 95% are. One temperature per task, fitted on dev by the least negative log-likelihood,
divides the log-probabilities before the softmax again. The most likely label never changes;
confidences, ``sentiment.score`` (p_pos - p_neg) and thresholds on probabilities do.

The fit and the expected calibration error are plain numpy, so serving applies what the card
says and ``undertow models calibrate`` writes it there.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

ECE_BINS = 15
_TINY = 1e-12


class TaskCalibration(BaseModel):
    """One task's temperature and what it did on dev (the card's ``calibration.<task>``)."""

    model_config = ConfigDict(extra="allow", frozen=True)

    temperature: float = Field(gt=0.01, le=100.0)
    n: int = 0
    # Expected calibration error (15 equal-width confidence bins) and NLL on the dev rows,
    # before and after; "after" is measured out of fold (each half with the other half's fit).
    ece_before: float | None = None
    ece_after: float | None = None
    nll_before: float | None = None
    nll_after: float | None = None
    data: list[str] = []


def apply(probs: np.ndarray, temperature: float) -> np.ndarray:
    """Rows of probabilities with their log-probabilities divided by ``temperature``."""
    if temperature == 1.0:
        return probs
    logits = np.log(np.clip(probs.astype(np.float64), _TINY, 1.0)) / temperature
    logits -= logits.max(axis=1, keepdims=True)
    scaled = np.exp(logits)
    out: np.ndarray = (scaled / scaled.sum(axis=1, keepdims=True)).astype(np.float32)
    return out


def nll(probs: np.ndarray, labels: np.ndarray) -> float:
    """Mean negative log-likelihood of the true labels."""
    picked = probs[np.arange(len(labels)), labels]
    return float(-np.log(np.clip(picked, _TINY, 1.0)).mean())


def ece(probs: np.ndarray, labels: np.ndarray, bins: int = ECE_BINS) -> float:
    """Expected calibration error: the gap between confidence and accuracy, averaged over
    equal-width confidence bins weighted by their rows."""
    confidence = probs.max(axis=1)
    correct = probs.argmax(axis=1) == labels
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1], right=True), 0, bins - 1)
    total = 0.0
    for b in range(bins):
        rows = which == b
        if rows.any():
            total += rows.sum() * abs(float(correct[rows].mean()) - float(confidence[rows].mean()))
    return float(total) / max(1, len(labels))


def fit_temperature(probs: np.ndarray, labels: np.ndarray) -> float:
    """The temperature in [0.05, 20] with the least NLL (a log-spaced grid, then refined)."""
    grid = np.exp(np.linspace(np.log(0.05), np.log(20.0), 121))
    losses = [nll(apply(probs, t), labels) for t in grid]
    best = int(np.argmin(losses))
    lo, hi = grid[max(0, best - 1)], grid[min(len(grid) - 1, best + 1)]
    fine = np.exp(np.linspace(np.log(lo), np.log(hi), 41))
    return float(min(fine, key=lambda t: nll(apply(probs, t), labels)))


def calibrate(probs: np.ndarray, labels: np.ndarray, data: Sequence[str] = ()) -> TaskCalibration:
    """Fit one task's temperature on all rows; "after" figures come from a two-fold cross-fit so
    they are not measured on the rows that chose the temperature. When the cross-fit does not
    lower the NLL, the temperature is 1 (the raw probabilities are kept)."""
    if len(labels) < 20:
        raise ValueError(f"{len(labels)} labelled rows are too few to calibrate on (at least 20)")
    order = np.random.default_rng(0).permutation(len(labels))
    halves = (order[::2], order[1::2])
    after = np.empty_like(probs)
    for fit_rows, test_rows in (halves, halves[::-1]):
        temperature = fit_temperature(probs[fit_rows], labels[fit_rows])
        after[test_rows] = apply(probs[test_rows], temperature)
    nll_before, nll_after = nll(probs, labels), nll(after, labels)
    # A temperature that does not lower the held-out NLL is not worth applying: keep 1.
    temperature = fit_temperature(probs, labels) if nll_after < nll_before else 1.0
    return TaskCalibration(
        temperature=round(temperature, 4),
        n=len(labels),
        ece_before=round(ece(probs, labels), 4),
        ece_after=round(ece(after, labels), 4),
        nll_before=round(nll_before, 4),
        nll_after=round(nll_after, 4),
        data=list(data),
    )


def min_prob_for_precision(
    probs: np.ndarray, labels: np.ndarray, label: int, precision: float
) -> dict[str, float] | None:
    """The least probability of ``label`` at which calling it reaches ``precision`` on these
    rows, with the precision and recall there (None: no threshold reaches it)."""
    p = probs[:, label]
    order = np.argsort(-p)
    hits = np.cumsum(labels[order] == label)
    called = np.arange(1, len(p) + 1)
    support = int((labels == label).sum())
    ok = np.nonzero(hits / called >= precision)[0]
    if not len(ok) or support == 0:
        return None
    i = int(ok[-1])  # the most documents called while precision holds
    return {
        "min_prob": round(float(p[order[i]]), 4),
        "precision": round(float(hits[i] / called[i]), 4),
        "recall": round(float(hits[i] / support), 4),
    }
