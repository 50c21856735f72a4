"""Labelled CSV files (``text,label``; extra columns ignored), checked against a label set."""

from __future__ import annotations

import csv
import hashlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from models.exceptions import DataError


@dataclass(frozen=True)
class Labelled:
    """Texts and label indices of one task, from one or more files."""

    texts: list[str]
    labels: list[int]
    files: list[Path]

    def counts(self, names: Sequence[str]) -> dict[str, int]:
        """How many examples each label has."""
        counter = Counter(self.labels)
        return {name: counter.get(i, 0) for i, name in enumerate(names)}


def sha256(path: Path) -> str:
    """The file's sha256, for the model card."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def read_csv(path: Path, names: Sequence[str]) -> tuple[list[str], list[int]]:
    """Rows of one file; an unknown label is an error naming it, the file and the line."""
    index = {name: i for i, name in enumerate(names)}
    texts: list[str] = []
    labels: list[int] = []
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            missing = {"text", "label"} - set(reader.fieldnames or [])
            if missing:
                raise DataError(f"{path}: missing column(s) {sorted(missing)}")
            for row in reader:
                label = row["label"]
                if label not in index:
                    raise DataError(
                        f"{path}:{reader.line_num}: label {label!r} is not one the model "
                        f"knows ({', '.join(names)})"
                    )
                texts.append(row["text"])
                labels.append(index[label])
    except OSError as exc:
        raise DataError(f"cannot read {path}: {exc.strerror}") from exc
    if not texts:
        raise DataError(f"{path}: no rows")
    return texts, labels


def read_labelled(paths: Sequence[Path], names: Sequence[str]) -> Labelled:
    """All rows of several files of one task."""
    texts: list[str] = []
    labels: list[int] = []
    for path in paths:
        t, y = read_csv(path, names)
        texts += t
        labels += y
    return Labelled(texts, labels, list(paths))
