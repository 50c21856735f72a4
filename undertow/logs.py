"""How every undertow process logs: plain text or JSON in the Elastic Common Schema (one object
per line, for Filebeat or any log shipper), at a level from ``--log-level`` or
``UNDERTOW_LOG_LEVEL`` (INFO by default). Chatty client libraries stay at WARNING unless DEBUG
is asked for, so INFO is undertow's own lines: one at the start of each component, and what
it does that an operator should know."""

from __future__ import annotations

import logging
import os
import sys
from typing import Literal

import ecs_logging

from undertow.exceptions import ConfigError

LEVEL_ENV = "UNDERTOW_LOG_LEVEL"
FORMAT_ENV = "UNDERTOW_LOG_FORMAT"
FORMATS = ("text", "json")
LogFormat = Literal["text", "json"]
# Libraries whose INFO lines are per request or per connection (aiokafka's are kept: joining
# the group and the partitions assigned are what an operator follows in a rebalance).
CHATTY = ("elastic_transport", "elasticsearch", "kafka", "faust", "mode", "httpx", "httpcore",
          "urllib3", "datasketch", "uvicorn.access")  # fmt: skip
TEXT = "%(asctime)s %(levelname)s %(name)s %(message)s"


def level_of(given: str | None) -> int:
    """The level asked for (the option, else the environment, else INFO); ConfigError naming
    where it came from if it is not a level."""
    text = (given or os.environ.get(LEVEL_ENV) or "INFO").upper()
    level = logging.getLevelName(text)
    if not isinstance(level, int):
        where = "--log-level" if given else LEVEL_ENV
        raise ConfigError(f"{where}: {text!r} is not a level (DEBUG, INFO, WARNING, ERROR)")
    return level


def format_of(given: str | None) -> LogFormat:
    """``text`` or ``json`` (the option, else the environment, else text)."""
    text = (given or os.environ.get(FORMAT_ENV) or "text").lower()
    if text not in FORMATS:
        where = "--log-format" if given else FORMAT_ENV
        raise ConfigError(f"{where}: {text!r}; use text or json")
    return "json" if text == "json" else "text"


class _Service(logging.Filter):
    """Names the service on every record (ECS ``service.name``, ``service.version``)."""

    def __init__(self, version: str) -> None:
        super().__init__()
        self.version = version

    def filter(self, record: logging.LogRecord) -> bool:
        record.__dict__.setdefault("service.name", "undertow")
        record.__dict__.setdefault("service.version", self.version)
        return True


def configure(level: str | None = None, fmt: str | None = None, version: str = "") -> None:
    """Set up the root logger once for this process (a handler on standard error)."""
    numeric, chosen = level_of(level), format_of(fmt)
    handler = logging.StreamHandler(sys.stderr)
    if chosen == "json":
        handler.setFormatter(ecs_logging.StdlibFormatter(exclude_fields=("log.original",)))
        handler.addFilter(_Service(version))
    else:
        handler.setFormatter(logging.Formatter(TEXT))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(numeric)
    for name in CHATTY:
        logging.getLogger(name).setLevel(max(numeric, logging.WARNING))
    logging.captureWarnings(True)


def level_name() -> str:
    """The root logger's level, by name (handed to child processes)."""
    return logging.getLevelName(logging.getLogger().level)
