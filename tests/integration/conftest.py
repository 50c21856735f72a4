"""Integration tests run against the real local stack, started through `undertow stack up`."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest

from undertow.settings import Settings, load_settings

if TYPE_CHECKING:
    from tests.integration.pipeline import Pipeline

ROOT = Path(__file__).resolve().parents[2]
KEYS = "analyst:analyst-key-123,operator:operator-key-456"


def undertow(
    *args: str, env: dict[str, str] | None = None, timeout: float = 900
) -> subprocess.CompletedProcess[str]:
    """Run the project's own command line, as a user would."""
    return subprocess.run(
        [sys.executable, "-m", "undertow.cli", *args],
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


@pytest.fixture
def alerting_pipeline(
    stack: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Pipeline]:
    """An isolated pipeline whose alerting evaluates every second, with API keys set."""
    from tests.integration.pipeline import Pipeline  # (it imports this module)

    monkeypatch.setenv("UNDERTOW_API_KEYS", KEYS)
    p = Pipeline(tmp_path, {"alerting": {"tick_s": 1.0}})
    try:
        yield p
    finally:
        p.stop()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(
    pipeline: Pipeline, name: str = "alerting", port: int | None = None
) -> tuple[subprocess.Popen[bytes], str]:
    """`undertow alerting serve` for ``pipeline`` on ``port`` (default: a free one), up and
    answering; its output goes to ``<name>.log`` in the pipeline's home. Returns the process
    and its base URL."""
    port = port or _free_port()
    env = dict(os.environ, UNDERTOW_API_KEYS=KEYS)
    log = (pipeline.home / f"{name}.log").open("ab")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "undertow.cli",
            "--config",
            str(pipeline.config),
            "--log-level",
            "INFO",  # access logs too: a test checks that no key ever reaches them
            "alerting",
            "serve",
            "--port",
            str(port),
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=log,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while not _up(url):
        if time.monotonic() > deadline or proc.poll() is not None:
            proc.kill()
            raise AssertionError(f"the API did not come up; see {pipeline.home / name}.log")
        time.sleep(0.25)
    return proc, url


@pytest.fixture
def server(alerting_pipeline: Pipeline) -> Iterator[tuple[str, Pipeline]]:
    """`undertow alerting serve` for that pipeline, on a free port: (base URL, pipeline)."""
    proc, url = start_server(alerting_pipeline)
    try:
        yield url, alerting_pipeline
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _up(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False
