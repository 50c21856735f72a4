"""What every local service is: install, prepare, a command to run, a health check."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path

import httpx

from deploy.stack.process import RunAs
from deploy.stack.settings import StackSettings


@dataclass(frozen=True)
class Launch:
    """How to start a service process."""

    argv: list[str]
    env: dict[str, str]
    cwd: Path
    run_as: RunAs | None = None


@dataclass(frozen=True)
class Health:
    """One health probe's answer."""

    healthy: bool
    detail: str


def http_health(url: str) -> Health:
    """Healthy when ``url`` answers 200 (a service's own health endpoint)."""
    try:
        resp = httpx.get(url, timeout=2)
    except httpx.HTTPError as exc:
        return Health(False, f"no answer: {exc}")
    return Health(resp.status_code == 200, f"HTTP {resp.status_code}")


class Service(ABC):
    """A local service of the stack; the stack manager drives these verbs in order."""

    name: str

    def __init__(self, settings: StackSettings) -> None:
        self.settings = settings
        self.home = settings.home.resolve()

    @property
    def data_dir(self) -> Path:
        """Where this service keeps its data, config and logs."""
        return self.home / "data" / self.name

    @property
    def cache_dir(self) -> Path:
        """Where downloaded distributions are kept across runs."""
        cache = self.settings.cache_dir
        return cache.resolve() if cache is not None else self.home / "cache"

    @property
    def pidfile(self) -> Path:
        """The pid file of the running service."""
        return self.home / "run" / f"{self.name}.pid"

    @property
    def logfile(self) -> Path:
        """stdout and stderr of the service process."""
        return self.home / "logs" / f"{self.name}.log"

    @property
    @abstractmethod
    def port_keys(self) -> dict[str, int]:
        """TCP ports on 127.0.0.1 this service binds, by settings key; the first is for clients."""

    @property
    def ports(self) -> list[int]:
        """The ports alone."""
        return list(self.port_keys.values())

    @property
    @abstractmethod
    def version(self) -> str:
        """The version that runs."""

    @abstractmethod
    def install(self) -> None:
        """Fetch what is missing (a no-op when it is already cached)."""

    @abstractmethod
    def prepare(self) -> Launch:
        """Write configuration, initialise storage once, and say how to start."""

    @abstractmethod
    def health(self) -> Health:
        """Probe the running service through its real protocol."""
