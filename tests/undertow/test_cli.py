"""The command line: every command has --help, errors map to meaningful exit codes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer

from undertow.cli import app


def _command_paths(group: Any, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    paths = [prefix]
    ctx = group.context_class(group)
    for name in group.list_commands(ctx):
        cmd = group.get_command(ctx, name)
        if hasattr(cmd, "list_commands"):  # a group (typer may carry its own click)
            paths.extend(_command_paths(cmd, (*prefix, name)))
        else:
            paths.append((*prefix, name))
    return paths


COMMANDS = _command_paths(typer.main.get_command(app))


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "undertow.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


def test_the_stack_commands_exist() -> None:
    assert {("stack", "up"), ("stack", "down"), ("stack", "status")} <= set(COMMANDS)


@pytest.mark.parametrize("path", COMMANDS, ids=lambda p: " ".join(p) or "undertow")
def test_every_command_has_help(path: tuple[str, ...]) -> None:
    done = _run(*path, "--help")
    assert done.returncode == 0, done.stderr
    assert "Usage:" in done.stdout


def test_bad_config_exits_2_naming_the_key(tmp_path: Path) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text("stack:\n  kafka_port: ninety\n")
    done = _run("--config", str(config), "stack", "status")
    assert done.returncode == 2
    assert "stack.kafka_port" in done.stderr


def test_unknown_command_is_a_usage_error() -> None:
    done = _run("stak")
    assert done.returncode == 2
    assert "No such command" in done.stderr


def test_version_names_the_package_and_the_code() -> None:
    done = _run("--version")
    assert done.returncode == 0
    assert done.stdout.startswith("undertow 0.") and "(code " in done.stdout


def test_a_bad_log_format_or_level_stops_at_start_naming_it() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("UNDERTOW_")}
    bad_format = _run("thresholds", "--help", env=env | {"UNDERTOW_LOG_FORMAT": "xml"})
    assert bad_format.returncode == 2 and "UNDERTOW_LOG_FORMAT" in bad_format.stderr
    bad_level = _run("--log-level", "loud", "thresholds", "--help", env=env)
    assert bad_level.returncode == 2 and "--log-level" in bad_level.stderr


def test_models_doctor_and_the_gpu_check_dry_run_on_cpu(tmp_path: Path) -> None:
    doctor = _run("models", "doctor", "--json")
    assert doctor.returncode == 0, doctor.stderr
    report = json.loads(doctor.stdout)
    assert report["chosen"]["device"] in ("cpu", "cuda") and report["why"]
    assert report["providers_offered"]
    # The GPU check, run on CPU as a dry run, on the shipped model given its GPU variants.
    shipped = Path(report["model_dir"])
    version = tmp_path / shipped.name
    shutil.copytree(shipped, version)
    assert _run("models", "gpu-variants", "--model", str(version)).returncode == 0
    check = _run("models", "gpu-check", "--model", str(version), "--device", "cpu",
                 "--limit", "64", "--json")  # fmt: skip
    assert check.returncode == 0, check.stderr
    figures = json.loads(check.stdout)
    assert figures["device"] == "cpu" and figures["texts"] == 64
    assert min(figures["agreement"].values()) >= 0.98
    assert figures["docs_per_s"]["fp16"] > 0 and figures["docs_per_s"]["fp32"] > 0
