"""The layering contract of pyproject.toml (`make lint` runs `lint-imports`) catches upward
imports, also those hidden inside a function."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("undertow", "alerting", "streaming", "models", "deploy")


def _copy_tree(dest: Path) -> None:
    for package in PACKAGES:
        for src in (ROOT / package).rglob("*.py"):
            target = dest / src.relative_to(ROOT)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, target)
    shutil.copyfile(ROOT / "pyproject.toml", dest / "pyproject.toml")


def _lint(tree: Path) -> subprocess.CompletedProcess[str]:
    lint = Path(sys.executable).with_name("lint-imports")
    env = {**os.environ, "PYTHONPATH": str(tree)}
    return subprocess.run(
        [str(lint), "--no-cache", "--config", str(tree / "pyproject.toml")],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _inject(path: Path, line: str) -> None:
    path.write_text(path.read_text() + f"\n\ndef _upward() -> None:\n    {line}\n")


def test_the_tree_as_committed_keeps_every_contract(tmp_path: Path) -> None:
    _copy_tree(tmp_path)
    result = _lint(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "line", "culprit"),
    [
        # models knows nothing of the pipeline, lazily or not.
        ("models/serving/scorer.py", "from streaming import keys", "models.serving.scorer"),
        # the pipeline knows nothing of alerting or of the shell.
        ("streaming/workers.py", "import alerting.store", "streaming.workers"),
        ("alerting/evaluator.py", "from undertow import demo", "alerting.evaluator"),
        # serving never pulls in the training side (torch).
        ("models/serving/runtime.py", "import models.training.export", "models.serving.runtime"),
        # alerting reads the windows, never the workers.
        ("alerting/api/alerts.py", "from streaming import score_worker", "alerting.api.alerts"),
    ],
)
def test_an_upward_import_inside_a_function_fails_the_lint(
    tmp_path: Path, module: str, line: str, culprit: str
) -> None:
    _copy_tree(tmp_path)
    _inject(tmp_path / module, line)
    result = _lint(tmp_path)
    assert result.returncode != 0
    assert "BROKEN" in result.stdout
    assert culprit in result.stdout
