"""Metrics computed by hand on small cases; labelled files checked against the label set."""

from __future__ import annotations

from pathlib import Path

import pytest

from models.datasets import read_csv, read_labelled
from models.exceptions import DataError
from models.labels import SENTIMENT_LABELS
from models.metrics import report


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


def test_unknown_label_is_named_with_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_text('text,label\n"ok",positive\n"hmm",bullish\n')
    with pytest.raises(DataError, match=r"d\.csv:3: label 'bullish'"):
        read_csv(path, SENTIMENT_LABELS)


def test_extra_columns_are_ignored_and_files_concatenate(tmp_path: Path) -> None:
    a = tmp_path / "a.csv"
    a.write_text("text,label,agreement\nup,positive,100\n")
    b = tmp_path / "b.csv"
    b.write_text('label,text\nnegative,"down, a lot"\n')
    data = read_labelled([a, b], SENTIMENT_LABELS)
    assert data.texts == ["up", "down, a lot"]
    assert data.counts(SENTIMENT_LABELS) == {"negative": 1, "neutral": 0, "positive": 1}


def test_missing_column_or_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("sentence,label\nup,positive\n")
    with pytest.raises(DataError, match="missing column"):
        read_csv(path, SENTIMENT_LABELS)
    path.write_text("text,label\n")
    with pytest.raises(DataError, match="no rows"):
        read_csv(path, SENTIMENT_LABELS)
