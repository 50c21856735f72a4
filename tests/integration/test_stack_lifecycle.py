"""`stack up | status | down` as a user runs them, on a second stack with its own home and ports."""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import redis

from deploy.stack import process
from tests.integration.conftest import ROOT, undertow


def _free_ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


@pytest.fixture
def second_stack(tmp_path: Path) -> Iterator[dict[str, str]]:
    """Environment for a stack in tmp_path on free ports, sharing the main download cache."""
    keys = ["KAFKA_PORT", "KAFKA_CONTROLLER_PORT", "ELASTICSEARCH_PORT"]
    keys += ["ELASTICSEARCH_TRANSPORT_PORT", "REDIS_PORT", "ALERTMANAGER_PORT"]
    keys += ["MAILPIT_SMTP_PORT", "MAILPIT_HTTP_PORT"]
    ports = _free_ports(len(keys))
    env = {k: v for k, v in os.environ.items() if not k.startswith("UNDERTOW_")}
    env |= {f"UNDERTOW_STACK__{k}": str(p) for k, p in zip(keys, ports, strict=True)}
    env["UNDERTOW_STACK__HOME"] = str(tmp_path / "home")
    env["UNDERTOW_STACK__CACHE_DIR"] = str(ROOT / ".undertow" / "cache")
    yield env
    undertow("stack", "down", env=env)


def _pids(home: Path) -> list[int]:
    return [
        rec.pid
        for pidfile in (home / "run").glob("*.pid")
        if (rec := process.read_pidfile(pidfile)) is not None
    ]


def test_port_held_by_another_process_fails_naming_the_port(
    second_stack: dict[str, str],
) -> None:
    port = int(second_stack["UNDERTOW_STACK__ELASTICSEARCH_PORT"])
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", port))
        squatter.listen()
        done = undertow("stack", "up", env=second_stack)
    assert done.returncode == 1
    assert f"port {port}" in done.stderr
    assert "UNDERTOW_STACK__ELASTICSEARCH_PORT" in done.stderr
    assert _pids(Path(second_stack["UNDERTOW_STACK__HOME"])) == []


def test_up_twice_then_down_leaves_nothing_behind(second_stack: dict[str, str]) -> None:
    home = Path(second_stack["UNDERTOW_STACK__HOME"])
    first = undertow("stack", "up", "--json", env=second_stack)
    assert first.returncode == 0, first.stderr
    # A normal start logs no error (the client's refused connections while Kafka starts are
    # the probe's answer, not errors).
    assert [line for line in first.stderr.splitlines() if " ERROR " in line] == []
    started = json.loads(first.stdout.splitlines()[-1])
    assert all(s["healthy"] for s in started.values())

    # Data written now must survive a restart (Redis runs with AOF persistence).
    redis_port = int(second_stack["UNDERTOW_STACK__REDIS_PORT"])
    client = redis.Redis(host="127.0.0.1", port=redis_port)
    client.set("undertow:test:persist", "kept")
    client.close()
    # ...and so must Alertmanager's silences (its storage is under the stack's home).
    am = f"http://127.0.0.1:{second_stack['UNDERTOW_STACK__ALERTMANAGER_PORT']}/api/v2"
    start = datetime.now(UTC)
    silence = {
        "matchers": [{"name": "scope", "value": "ticker:KEEP", "isRegex": False}],
        "startsAt": start.isoformat(), "endsAt": (start + timedelta(hours=1)).isoformat(),
        "createdBy": "test", "comment": "kept across a restart",
    }  # fmt: skip
    silence_id = httpx.post(f"{am}/silences", json=silence).json()["silenceID"]

    again = undertow("stack", "up", "--json", env=second_stack)
    assert again.returncode == 0, again.stderr
    assert "already running, left alone" in again.stderr
    assert json.loads(again.stdout.splitlines()[-1]) == started  # same pids, still healthy

    pids = _pids(home)
    assert len(pids) == 5
    groups = [m for pid in pids for m in process.group_members(pid)]
    assert len(groups) >= 5

    down = undertow("stack", "down", env=second_stack)
    assert down.returncode == 0, down.stderr
    ports = [int(v) for k, v in second_stack.items() if k.endswith("PORT")]
    assert [p for p in ports if process.port_open(p)] == []
    # No live (non-zombie) process is left in any service's process group.
    assert [m for pid in pids for m in process.group_members(pid)] == []

    status = undertow("stack", "status", "--json", env=second_stack)
    assert status.returncode == 1
    assert not any(s["running"] for s in json.loads(status.stdout).values())

    restarted = undertow("stack", "up", env=second_stack)
    assert restarted.returncode == 0, restarted.stderr
    client = redis.Redis(host="127.0.0.1", port=redis_port)
    assert client.get("undertow:test:persist") == b"kept"
    client.close()
    assert httpx.get(f"{am}/silence/{silence_id}").json()["status"]["state"] == "active"
