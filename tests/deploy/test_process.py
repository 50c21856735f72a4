"""Process bookkeeping of the local stack: pid files, liveness, stopping a whole group."""

from __future__ import annotations

import os
import socket
import sys
import time
from pathlib import Path

from deploy.stack import process

# A parent that starts a child in its own process group, like Elasticsearch's launcher does.
_PARENT = (
    "import subprocess, sys, time\n"
    "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)'])\n"
    "time.sleep(600)\n"
)


def _spawn(tmp_path: Path, code: str) -> process.PidRecord:
    return process.spawn(
        [sys.executable, "-c", code],
        pidfile=tmp_path / "run" / "svc.pid",
        logfile=tmp_path / "logs" / "svc.log",
        env=dict(os.environ),
        cwd=tmp_path,
    )


def _wait_for(predicate: object, timeout_s: float = 10) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return True
        time.sleep(0.05)
    return False


def test_spawn_records_a_live_process_and_stop_ends_its_whole_group(tmp_path: Path) -> None:
    record = _spawn(tmp_path, _PARENT)
    assert process.read_pidfile(tmp_path / "run" / "svc.pid") == record
    assert process.is_alive(record)
    assert _wait_for(lambda: len(process.group_members(record.pid)) == 2)

    process.stop(record, timeout_s=5)

    assert not process.is_alive(record)
    assert process.group_members(record.pid) == []


def test_a_stale_pid_file_is_not_mistaken_for_a_running_service(tmp_path: Path) -> None:
    pidfile = tmp_path / "svc.pid"
    # Our own pid with a wrong start time: a recycled pid must not count as the service.
    pidfile.write_text(f"{os.getpid()} 1\n")
    assert process.live_record(pidfile) is None
    assert not pidfile.exists()


def test_stop_escalates_to_sigkill_when_sigterm_is_ignored(tmp_path: Path) -> None:
    code = "import signal, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\ntime.sleep(600)\n"
    record = _spawn(tmp_path, code)
    assert _wait_for(lambda: "signal" in Path(f"/proc/{record.pid}/cmdline").read_text())
    time.sleep(0.3)  # let the child install its handler
    process.stop(record, timeout_s=1)
    assert not process.is_alive(record)


def test_port_open_sees_a_listener() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        assert process.port_open(port)
    assert not process.port_open(port)


def test_cpu_seconds_counts_what_a_process_has_used_and_skips_dead_ones() -> None:
    before = process.cpu_seconds([os.getpid()])
    deadline = time.process_time() + 0.3
    while time.process_time() < deadline:  # burn 0.3 s of CPU
        pass
    used = process.cpu_seconds([os.getpid()]) - before
    assert 0.2 <= used <= 1.0
    assert process.cpu_seconds([2**22 + 12345]) == 0  # no such process
