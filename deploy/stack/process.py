"""Processes the stack starts: spawn detached, remember by pid file, stop by process group.

A pid file holds the pid and the kernel's start time of that process, so a recycled pid is
never mistaken for ours and ``down`` never signals a stranger.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from deploy.stack.exceptions import StackError


@dataclass(frozen=True)
class PidRecord:
    """A process we started: its pid (also its process group id) and its start time."""

    pid: int
    start_ticks: int


@dataclass(frozen=True)
class RunAs:
    """A non-root account to run a service as."""

    uid: int
    gid: int


def _stat_fields(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may hold spaces; split after its closing parenthesis.
    return raw[raw.rindex(")") + 2 :].split()


def start_ticks(pid: int) -> int | None:
    """The process start time in clock ticks since boot, or None if it does not exist."""
    fields = _stat_fields(pid)
    return None if fields is None else int(fields[19])


def cpu_seconds(pids: Iterable[int]) -> float:
    """User + system CPU seconds used so far by the live processes among ``pids``."""
    ticks = 0
    for pid in pids:
        fields = _stat_fields(pid)
        if fields is not None:
            ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def is_alive(record: PidRecord) -> bool:
    """True while the recorded process runs (and is not a zombie)."""
    fields = _stat_fields(record.pid)
    if fields is None or fields[0] in ("Z", "X"):
        return False
    return int(fields[19]) == record.start_ticks


def read_pidfile(path: Path) -> PidRecord | None:
    """The record in ``path``, or None when the file is absent or unreadable."""
    try:
        pid, ticks = path.read_text().split()
        return PidRecord(int(pid), int(ticks))
    except (OSError, ValueError):
        return None


def live_record(path: Path) -> PidRecord | None:
    """The record in ``path`` if that process still runs; a stale file is removed."""
    record = read_pidfile(path)
    if record is not None and is_alive(record):
        return record
    path.unlink(missing_ok=True)
    return None


def spawn(
    argv: Sequence[str],
    *,
    pidfile: Path,
    logfile: Path,
    env: Mapping[str, str],
    cwd: Path,
    run_as: RunAs | None = None,
) -> PidRecord:
    """Start ``argv`` in a new session (its own process group) and write its pid file."""
    logfile.parent.mkdir(parents=True, exist_ok=True)
    pidfile.parent.mkdir(parents=True, exist_ok=True)
    with logfile.open("ab") as log:
        proc = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=dict(env),
            cwd=cwd,
            start_new_session=True,
            user=run_as.uid if run_as else None,
            group=run_as.gid if run_as else None,
            extra_groups=[] if run_as else None,
        )
    ticks = start_ticks(proc.pid)
    if ticks is None:
        raise StackError(f"{argv[0]} exited at once; see {logfile}")
    record = PidRecord(proc.pid, ticks)
    pidfile.write_text(f"{record.pid} {record.start_ticks}\n")
    return record


def group_members(pgid: int) -> list[int]:
    """Live pids whose process group is ``pgid`` (a service's children included)."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        fields = _stat_fields(int(entry.name))
        if fields and fields[0] not in ("Z", "X") and int(fields[2]) == pgid:
            members.append(int(entry.name))
    return members


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, sig)


def stop(record: PidRecord, timeout_s: float = 30.0) -> None:
    """SIGTERM the service's process group, then SIGKILL what is left after ``timeout_s``."""
    if not is_alive(record):
        return
    _signal_group(record.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not group_members(record.pid):
            return
        time.sleep(0.2)
    _signal_group(record.pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while group_members(record.pid) and time.monotonic() < deadline:
        time.sleep(0.1)


def port_open(port: int, host: str = "127.0.0.1", timeout_s: float = 0.5) -> bool:
    """True when something accepts TCP connections on ``host:port``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout_s)
        return sock.connect_ex((host, port)) == 0


def log_tail(logfile: Path, lines: int = 20) -> str:
    """The last lines of a log, for error messages."""
    try:
        text = logfile.read_text(errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:])
