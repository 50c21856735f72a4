"""Run the `undertow` command line against a private model registry, as an operator would."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def undertow_with_registry(
    registry: Path, *args: str, timeout: float = 900
) -> subprocess.CompletedProcess[str]:
    """`undertow ARGS` with the registry at ``registry`` and no shipped fallback."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("UNDERTOW_")}
    env["UNDERTOW_MODELS__REGISTRY_DIR"] = str(registry)
    env["UNDERTOW_MODELS__USE_SHIPPED"] = "false"
    return subprocess.run(
        [sys.executable, "-m", "undertow.cli", *args],
        capture_output=True, text=True, env=env, timeout=timeout, check=False,
    )  # fmt: skip
