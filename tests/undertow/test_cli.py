"""The command line: every command has --help, errors map to meaningful exit codes."""

from __future__ import annotations

import os
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
