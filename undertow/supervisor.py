"""Several worker roles from one command: a child process per role, restarted if it dies,
stopped together on SIGINT/SIGTERM."""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

log = logging.getLogger(__name__)
RESTART_DELAY_S = 2.0
STOP_TIMEOUT_S = 30.0


def child_command(args: list[str], config: Path | None, log_level: str) -> list[str]:
    """The command line that runs ``undertow ARGS`` in its own process."""
    cmd = [sys.executable, "-m", "undertow.cli", "--log-level", log_level]
    if config is not None:
        cmd += ["--config", str(config)]
    return [*cmd, *args]


def worker_args(roles: Sequence[str]) -> dict[str, list[str]]:
    """``undertow worker --role R`` for each role."""
    return {role: ["worker", "--role", role] for role in roles}


class Supervisor:
    """Keeps one child process per role alive until told to stop."""

    def __init__(
        self,
        children: dict[str, list[str]],
        config: Path | None,
        log_level: str,
        log_dir: Path | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.commands = {name: child_command(a, config, log_level) for name, a in children.items()}
        # None: the children share this process's stdout/stderr.
        self.log_dir = log_dir
        self.env = env
        self.children: dict[str, subprocess.Popen[bytes]] = {}
        self.stopping = False

    def _start(self, role: str) -> None:
        if self.log_dir is None:
            self.children[role] = subprocess.Popen(self.commands[role], env=self.env)
        else:
            self.log_dir.mkdir(parents=True, exist_ok=True)
            with (self.log_dir / f"{role}.log").open("ab") as out:
                self.children[role] = subprocess.Popen(
                    self.commands[role],
                    stdout=out,
                    stderr=out,
                    start_new_session=True,
                    env=self.env,
                )
        log.info("started %s worker, pid %d", role, self.children[role].pid)

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self.stopping = True

    def start_all(self) -> None:
        """Start a process for every role."""
        for role in self.commands:
            self._start(role)

    def tend(self) -> list[str]:
        """Restart the roles whose process has exited; return their names."""
        restarted = []
        for role, child in list(self.children.items()):
            code = child.poll()
            if code is not None and not self.stopping:
                log.warning("%s worker exited with %d; restarting", role, code)
                time.sleep(RESTART_DELAY_S)
                self._start(role)
                restarted.append(role)
        return restarted

    def run(self) -> int:
        """Start every role, restart any that exits, and stop all on a signal; exit code 0."""
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, self._on_signal)
        self.start_all()
        try:
            while not self.stopping:
                self.tend()
                time.sleep(0.2)
        finally:
            self.stop()
        return 0

    def stop(self) -> None:
        """SIGTERM every child, wait for them, SIGKILL what is left after STOP_TIMEOUT_S."""
        for child in self.children.values():
            if child.poll() is None:
                child.terminate()
        deadline = time.monotonic() + STOP_TIMEOUT_S
        for child in self.children.values():
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
