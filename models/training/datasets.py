"""Labelled CSV files (``text,label``; extra columns ignored), checked against a label set.

A file may also carry a teacher's probabilities, one ``p_<label>`` column per label (as
``undertow soft-labels`` writes them): training then learns from those soft targets as well.
"""

from __future__ import annotations

import csv
import hashlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from models.exceptions import DataError


@dataclass(frozen=True)
class Labelled:
    """Texts and label indices of one task, from one or more files."""

    texts: list[str]
    labels: list[int]
    files: list[Path]
    # Per row: the teacher's probabilities over the labels, or None for a row without them.
    soft: list[list[float] | None] = field(default_factory=list)

    def counts(self, names: Sequence[str]) -> dict[str, int]:
        """How many examples each label has."""
        counter = Counter(self.labels)
        return {name: counter.get(i, 0) for i, name in enumerate(names)}


def sha256(path: Path) -> str:
    """The file's sha256, for the model card."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


SOFT_PREFIX = "p_"


def soft_columns(names: Sequence[str]) -> list[str]:
    """The columns that hold a teacher's probability of each label."""
    return [SOFT_PREFIX + name for name in names]


def _soft_row(row: dict[str, str], columns: list[str], where: str) -> list[float]:
    values = []
    for column in columns:
        raw = row[column]
        try:
            value = float(raw)
        except (TypeError, ValueError):
            raise DataError(f"{where}: {column} {raw!r} is not a number") from None
        if not 0.0 <= value <= 1.0:
            raise DataError(f"{where}: {column} {raw!r} is not a probability (0 to 1)")
        values.append(value)
    total = sum(values)
    if abs(total - 1.0) > 0.01:
        raise DataError(f"{where}: the {SOFT_PREFIX}* columns sum to {total:.4f}, not 1")
    return [v / total for v in values]


def unknown_label(where: str, label: str, names: Sequence[str]) -> DataError:
    """The error for a label the model does not know, naming it and where it was."""
    return DataError(f"{where}: label {label!r} is not one the model knows ({', '.join(names)})")


def read_soft_csv(
    path: Path, names: Sequence[str]
) -> tuple[list[str], list[int], list[list[float] | None]]:
    """Rows of one file, with soft targets when it has a ``p_<label>`` column for every label.

    An unknown label is an error naming it, the file and the line; so are a bad probability
    and a file with only some of the ``p_*`` columns.
    """
    index = {name: i for i, name in enumerate(names)}
    texts: list[str] = []
    labels: list[int] = []
    soft: list[list[float] | None] = []
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            fields = set(reader.fieldnames or [])
            missing = {"text", "label"} - fields
            if missing:
                raise DataError(f"{path}: missing column(s) {sorted(missing)}")
            columns = soft_columns(names)
            present = [c for c in columns if c in fields]
            if present and len(present) < len(columns):
                absent = sorted(set(columns) - set(present))
                raise DataError(
                    f"{path}: soft targets need a p_<label> column for every label; "
                    f"missing {absent}"
                )
            for row in reader:
                label = row["label"]
                if label not in index:
                    raise unknown_label(f"{path}:{reader.line_num}", label, names)
                texts.append(row["text"])
                labels.append(index[label])
                where = f"{path}:{reader.line_num}"
                soft.append(_soft_row(row, columns, where) if present else None)
    except OSError as exc:
        raise DataError(f"cannot read {path}: {exc.strerror}") from exc
    if not texts:
        raise DataError(f"{path}: no rows")
    return texts, labels, soft


def read_csv(path: Path, names: Sequence[str]) -> tuple[list[str], list[int]]:
    """Texts and label indices of one file (soft targets, if any, checked and left out)."""
    texts, labels, _ = read_soft_csv(path, names)
    return texts, labels


def read_labelled(paths: Sequence[Path], names: Sequence[str]) -> Labelled:
    """All rows of several files of one task."""
    texts: list[str] = []
    labels: list[int] = []
    soft: list[list[float] | None] = []
    for path in paths:
        t, y, q = read_soft_csv(path, names)
        texts += t
        labels += y
        soft += q
    return Labelled(texts, labels, list(paths), soft)
