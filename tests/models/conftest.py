"""Fixtures: tiny model versions in a temporary registry."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.models.tiny import build


@pytest.fixture(scope="session")
def tiny_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny model version directory with fp32 and int8 variants."""
    return build(tmp_path_factory.mktemp("tiny") / "tiny-1")


@pytest.fixture
def registry_dir(tmp_path: Path) -> Path:
    """A registry with a good version (tiny-good) and a worse one (tiny-bad)."""
    root = tmp_path / "registry"
    build(root / "tiny-good", "tiny-good")
    build(root / "tiny-bad", "tiny-bad", invert_sentiment=True)
    return root
