"""Prometheus's ``promtool`` (Go module, ``go install``, cached like Kafka's jars), which checks
and unit-tests the rules that watch undertow itself (``deploy/prometheus/``)."""

from __future__ import annotations

from pathlib import Path

from deploy.stack.settings import StackSettings
from deploy.stack.tools import go_install

MODULE = "github.com/prometheus/prometheus/cmd/promtool"


def promtool(settings: StackSettings) -> Path:
    """The path of promtool, built on first use (several minutes the first time on 2 cores;
    Go's caches make a later build take seconds)."""
    cache = (settings.cache_dir or settings.home / "cache").resolve()
    binary = cache / f"promtool-{settings.promtool_version}" / "promtool"
    if not binary.exists():
        go_install(MODULE, f"v{settings.promtool_version}", binary.parent,
                   f"building promtool {settings.promtool_version} (go install)")  # fmt: skip
    return binary
