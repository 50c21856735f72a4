"""Evaluation metrics against hand-computed figures."""

from __future__ import annotations

import pytest

from models.serving.labels import SENTIMENT_LABELS
from models.training.metrics import report


def test_report_matches_hand_computed_figures() -> None:
    # true: neg neg neu pos pos pos; pred: neg neu neu pos pos neg
    r = report([0, 0, 1, 2, 2, 2], [0, 1, 1, 2, 2, 0], SENTIMENT_LABELS)
    assert r["n"] == 6
    assert r["accuracy"] == pytest.approx(4 / 6, abs=1e-4)
    neg, neu, pos = (r["per_class"][k] for k in SENTIMENT_LABELS)
    assert (neg["precision"], neg["recall"]) == (0.5, 0.5)
    assert (neu["precision"], neu["recall"]) == (0.5, 1.0)
    assert (pos["precision"], pos["recall"]) == (1.0, pytest.approx(2 / 3, abs=1e-4))
    f1 = [0.5, 2 * 0.5 * 1 / 1.5, 2 * 1 * (2 / 3) / (1 + 2 / 3)]
    assert r["macro_f1"] == pytest.approx(sum(f1) / 3, abs=1e-4)
    assert r["confusion"] == [[1, 1, 0], [0, 1, 0], [1, 0, 2]]


def test_macro_f1_ignores_classes_absent_from_the_data() -> None:
    r = report([0, 0], [0, 0], SENTIMENT_LABELS)
    assert r["macro_f1"] == 1.0
