"""``stack up | down | status``: start what is not running, stop exactly what we started."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Any

from deploy.stack import process
from deploy.stack.alertmanager import AlertmanagerService
from deploy.stack.elasticsearch import ElasticsearchService
from deploy.stack.exceptions import PortInUseError, StackError
from deploy.stack.kafka import KafkaService
from deploy.stack.mailpit import MailpitService
from deploy.stack.redis import RedisService
from deploy.stack.service import Service
from deploy.stack.settings import StackSettings

SERVICES: dict[str, type[Service]] = {
    "kafka": KafkaService,
    "elasticsearch": ElasticsearchService,
    "redis": RedisService,
    # Mailpit before Alertmanager: the local configuration e-mails to it.
    "mailpit": MailpitService,
    "alertmanager": AlertmanagerService,
}

Progress = Callable[[str], None]


@dataclass(frozen=True)
class ServiceStatus:
    """What ``stack status`` reports for one service."""

    version: str
    address: str
    ports: list[int]
    pid: int | None
    running: bool
    healthy: bool
    detail: str
    log: str

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready mapping."""
        return asdict(self)


def _quiet(_: str) -> None:
    return None


class Stack:
    """The local services, driven through the ``Service`` verbs."""

    def __init__(self, settings: StackSettings, progress: Progress = _quiet) -> None:
        self.settings = settings
        self.services = [cls(settings) for cls in SERVICES.values()]
        self.progress = progress

    def status(self) -> dict[str, ServiceStatus]:
        """Each service's pid, liveness and health, probed through its real protocol."""
        return {svc.name: self._status(svc) for svc in self.services}

    def _status(self, svc: Service) -> ServiceStatus:
        record = process.live_record(svc.pidfile)
        health = svc.health() if record is not None else None
        return ServiceStatus(
            version=svc.version,
            address=f"127.0.0.1:{svc.ports[0]}",
            ports=svc.ports,
            pid=record.pid if record else None,
            running=record is not None,
            healthy=bool(health and health.healthy),
            detail=health.detail if health else "not running",
            log=str(svc.logfile),
        )

    @contextmanager
    def running(self, keep: bool = False) -> Iterator[dict[str, ServiceStatus]]:
        """The stack up for a block of work; stopped afterwards only if this call started it
        (and not ``keep``), also when the block fails."""
        was_up = all(st.healthy for st in self.status().values())
        statuses = self.up()
        try:
            yield statuses
        finally:
            if not was_up and not keep:
                self.down()

    def up(self, timeout_s: float | None = None) -> dict[str, ServiceStatus]:
        """Install and start what is not running, then wait until every service is healthy."""
        pending = [svc for svc in self.services if process.live_record(svc.pidfile) is None]
        for svc in self.services:
            if svc not in pending:
                self.progress(f"{svc.name}: already running, left alone")
        self._check_ports(pending)
        for svc in pending:
            self.progress(f"{svc.name}: checking install of {svc.version}")
            svc.install()
        started: dict[str, process.PidRecord] = {}
        try:
            for svc in pending:
                launch = svc.prepare()
                self.progress(f"{svc.name}: starting")
                started[svc.name] = process.spawn(
                    launch.argv,
                    pidfile=svc.pidfile,
                    logfile=svc.logfile,
                    env=launch.env,
                    cwd=launch.cwd,
                    run_as=launch.run_as,
                )
            self._wait_healthy(started, timeout_s or self.settings.start_timeout_s)
        except BaseException:
            self._stop(svc for svc in self.services if svc.name in started)
            raise
        return self.status()

    def _check_ports(self, services: list[Service]) -> None:
        for svc in services:
            for key, port in svc.port_keys.items():
                if process.port_open(port):
                    raise PortInUseError(
                        f"port {port} ({svc.name}) is already in use by another process: "
                        f"stop that process or choose another port with stack.{key} "
                        f"(UNDERTOW_STACK__{key.upper()})"
                    )

    def _wait_healthy(self, started: dict[str, process.PidRecord], timeout_s: float) -> None:
        begin = time.monotonic()
        waiting = {svc.name: svc for svc in self.services}
        last_report = 0.0
        while waiting:
            for name, svc in list(waiting.items()):
                record = started.get(name) or process.live_record(svc.pidfile)
                if record is None or not process.is_alive(record):
                    raise StackError(
                        f"{name} exited during start; last lines of {svc.logfile}:\n"
                        f"{process.log_tail(svc.logfile)}"
                    )
                if svc.health().healthy:
                    self.progress(f"{name}: healthy after {time.monotonic() - begin:.0f} s")
                    del waiting[name]
            elapsed = time.monotonic() - begin
            if waiting and elapsed > timeout_s:
                names = ", ".join(waiting)
                raise StackError(f"{names} not healthy after {timeout_s:.0f} s; see the logs")
            if waiting and elapsed - last_report >= 10:
                self.progress(f"waiting for {', '.join(waiting)} ({elapsed:.0f} s)")
                last_report = elapsed
            if waiting:
                time.sleep(0.5)

    def down(self, only: Iterable[str] | None = None) -> list[str]:
        """Stop the services this stack started (by pid file), all or those named in ``only``;
        return the names stopped. ``up`` starts them again."""
        names = {svc.name for svc in self.services}
        wanted = set(only) if only is not None else names
        unknown = wanted - names
        if unknown:
            raise StackError(f"unknown service(s) {sorted(unknown)}; choose from {sorted(names)}")
        return self._stop(svc for svc in reversed(self.services) if svc.name in wanted)

    def _stop(self, services: Iterable[Service]) -> list[str]:
        stopped = []
        for svc in services:
            record = process.live_record(svc.pidfile)
            if record is None:
                continue
            self.progress(f"{svc.name}: stopping pid {record.pid}")
            process.stop(record, timeout_s=60)
            if process.group_members(record.pid):
                raise StackError(f"{svc.name} (pid {record.pid}) did not stop")
            svc.pidfile.unlink(missing_ok=True)
            stopped.append(svc.name)
        return stopped
