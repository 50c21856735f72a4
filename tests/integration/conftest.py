"""Integration tests run against the real local stack, started through `undertow stack up`."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from streaming.settings import Settings, load_settings

ROOT = Path(__file__).resolve().parents[2]


def undertow(
    *args: str, env: dict[str, str] | None = None, timeout: float = 900
) -> subprocess.CompletedProcess[str]:
    """Run the project's own command line, as a user would."""
    return subprocess.run(
        [sys.executable, "-m", "streaming.cli", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env if env is not None else dict(os.environ),
        timeout=timeout,
        check=False,
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/integration" in str(item.path):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def stack() -> Iterator[Settings]:
    """The stack up for the whole session; stopped afterwards only if this session started it."""
    was_running = undertow("stack", "status").returncode == 0
    up = undertow("stack", "up")
    assert up.returncode == 0, f"stack up failed:\n{up.stderr}"
    yield load_settings()
    if not was_running:
        down = undertow("stack", "down")
        assert down.returncode == 0, down.stderr
