"""Reading labelled data files: columns, labels, soft targets, clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from models.exceptions import DataError
from models.serving.labels import SENTIMENT_LABELS
from models.training.datasets import read_csv, read_labelled


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


def test_a_teachers_probabilities_are_read_as_soft_targets(tmp_path: Path) -> None:
    taught = tmp_path / "taught.csv"
    taught.write_text(
        "text,label,p_negative,p_neutral,p_positive\n"
        "up,positive,0.1,0.2,0.7\n"
        "down,negative,0.6,0.3,0.1\n"
    )
    plain = tmp_path / "plain.csv"
    plain.write_text("text,label\nflat,neutral\n")
    data = read_labelled([taught, plain], SENTIMENT_LABELS)
    assert data.labels == [2, 0, 1]
    assert data.soft[0] == pytest.approx([0.1, 0.2, 0.7])
    assert data.soft[1] == pytest.approx([0.6, 0.3, 0.1])
    assert data.soft[2] is None  # a file without p_* columns learns from its labels alone


EVERY_P = "p_negative,p_neutral,p_positive"


@pytest.mark.parametrize(
    ("header", "row", "message"),
    [
        (EVERY_P, "0.1,x,0.9", r"s\.csv:2: p_neutral 'x' is not a number"),
        (EVERY_P, "0.5,-0.5,1", r"s\.csv:2: p_neutral '-0\.5' is not a"),
        (EVERY_P, "0.5,0.5,0.5", r"s\.csv:2: .* sum to 1\.5000, not 1"),
        ("p_negative,p_positive", "0.5,0.5", r"s\.csv: .* missing \['p_neutral'\]"),
    ],
)
def test_bad_soft_targets_are_named_with_file_line_and_column(
    tmp_path: Path, header: str, row: str, message: str
) -> None:
    path = tmp_path / "s.csv"
    path.write_text(f"text,label,{header}\nup,positive,{row}\n")
    with pytest.raises(DataError, match=message):
        read_labelled([path], SENTIMENT_LABELS)
