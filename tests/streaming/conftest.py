"""Fixtures: a real Scorer over the tiny two-head model (see tests/models/tiny.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from models.serving.scorer import Scorer
from tests.models.tiny import build


@pytest.fixture(scope="session")
def tiny_scorer(tmp_path_factory: pytest.TempPathFactory) -> Scorer:
    """Scores "slump" negative, "earnings" as Earnings, and so on, by construction."""
    directory: Path = build(tmp_path_factory.mktemp("tiny") / "tiny-1")
    return Scorer(directory, device="cpu", variant="fp32", threads=1)
