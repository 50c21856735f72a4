"""The probes Kubernetes asks a worker: alive while it runs, ready once its model is loaded and
its consumer has joined the group."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.integration.pipeline import Pipeline, wait_for
from undertow.settings import Settings


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def probed(stack: Settings, tmp_path: Path) -> Iterator[tuple[Pipeline, int]]:
    port = _free_port()
    p = Pipeline(tmp_path, {"streaming": {"metrics_port": port}})
    try:
        yield p, port
    finally:
        p.stop()


def _status(url: str) -> int | None:
    try:
        return httpx.get(url, timeout=2).status_code
    except httpx.HTTPError:
        return None


def test_a_score_worker_is_ready_once_its_model_is_loaded_and_it_has_joined(
    probed: tuple[Pipeline, int],
) -> None:
    pipeline, port = probed
    pipeline.start("score")
    base = f"http://127.0.0.1:{port}"
    wait_for("the worker alive", lambda: _status(f"{base}/healthz") == 200, timeout=60)
    wait_for("the worker ready", lambda: _status(f"{base}/ready") == 200, timeout=120)
    assert "undertow_documents_in" in httpx.get(f"{base}/metrics").text
