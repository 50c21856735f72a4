"""System tools the stack installs with: Java, Maven and apt-get, each found or named as missing."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from deploy.stack.exceptions import MissingToolError, StackError

_VERSION = re.compile(r'version "(\d+)(?:\.(\d+))?')


def java_major(java_home: Path) -> int | None:
    """The major version of ``java_home/bin/java``, or None if it does not run."""
    java = java_home / "bin" / "java"
    if not java.exists():
        return None
    try:
        out = subprocess.run(
            [str(java), "-version"], capture_output=True, text=True, timeout=60, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = _VERSION.search(out.stderr + out.stdout)
    if not match:
        return None
    major = int(match.group(1))
    return int(match.group(2) or 0) if major == 1 else major


def _candidates(configured: Path | None) -> list[Path]:
    if configured is not None:
        return [configured]
    found = []
    if os.environ.get("JAVA_HOME"):
        found.append(Path(os.environ["JAVA_HOME"]))
    java = shutil.which("java")
    if java:
        found.append(Path(java).resolve().parent.parent)
    jvm = Path("/usr/lib/jvm")
    if jvm.is_dir():
        found.extend(sorted(p for p in jvm.iterdir() if p.is_dir() and not p.is_symlink()))
    return found


def find_java(configured: Path | None, minimum: int = 17) -> Path:
    """A Java home of at least ``minimum``; the configured one only, when one is configured."""
    for home in _candidates(configured):
        major = java_major(home)
        if major is not None and major >= minimum:
            return home
    where = f"stack.java_home={configured}" if configured else "JAVA_HOME, PATH or /usr/lib/jvm"
    raise MissingToolError(
        f"Java {minimum}+ not found in {where}: install it "
        "(apt-get install openjdk-17-jdk-headless) or set stack.java_home "
        "(UNDERTOW_STACK__JAVA_HOME)"
    )


def require(tool: str, hint: str) -> str:
    """The path of ``tool`` on PATH, or a MissingToolError that says how to get it."""
    path = shutil.which(tool)
    if path is None:
        raise MissingToolError(f"{tool} not found on PATH: {hint}")
    return path


def run_checked(
    argv: list[str], what: str, timeout_s: float = 1800, env: dict[str, str] | None = None
) -> None:
    """Run an install step; on failure raise a StackError carrying the tail of its output."""
    try:
        out = subprocess.run(
            argv, capture_output=True, text=True, timeout=timeout_s, check=False, env=env
        )
    except subprocess.TimeoutExpired as exc:
        raise StackError(f"{what}: timed out after {timeout_s:.0f} s") from exc
    if out.returncode != 0:
        tail = "\n".join((out.stdout + out.stderr).splitlines()[-15:])
        raise StackError(f"{what} failed (exit {out.returncode}):\n{tail}")


def maven_fetch(pom: str, goal_args: list[str], what: str) -> None:
    """Run Maven in a scratch project (``pom`` is its pom.xml) with ``goal_args``."""
    mvn = require("mvn", "install Maven (apt-get install maven)")
    with tempfile.TemporaryDirectory(prefix="undertow-mvn-") as tmp:
        Path(tmp, "pom.xml").write_text(pom)
        run_checked([mvn, "-B", "-q", "-f", str(Path(tmp, "pom.xml")), *goal_args], what)


def apt_install(package: str) -> None:
    """Install a Debian package without letting its service auto-start on the host."""
    apt = require("apt-get", f"install {package} with your system's package manager")
    if os.geteuid() != 0:
        raise MissingToolError(
            f"{package} is not installed and installing it needs root: "
            f"run `sudo apt-get install {package}`"
        )
    policy = Path("/usr/sbin/policy-rc.d")
    ours = not policy.exists()
    if ours:
        # Debian's documented switch: exit 101 means "do not start services during install".
        policy.write_text("#!/bin/sh\nexit 101\n")
        policy.chmod(0o755)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    try:
        install = [apt, "install", "-y", "-q", "--no-install-recommends", package]
        done = subprocess.run(install, capture_output=True, env=env, check=False)
        if done.returncode != 0:
            run_checked([apt, "update", "-q"], "apt-get update", env=env)
            run_checked(install, f"apt-get install {package}", env=env)
    finally:
        if ours:
            policy.unlink(missing_ok=True)


def go_install(package: str, version: str, gobin: Path, what: str) -> None:
    """``go install package@version`` into ``gobin``. Go's module and build caches stay where
    the user's Go keeps them (as Maven's ``~/.m2``), so a second checkout builds in seconds."""
    go = require("go", "install Go 1.22+ (https://go.dev/dl/) or put `go` on PATH")
    gobin.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "GOBIN": str(gobin)}
    run_checked([go, "install", f"{package}@{version}"], what, env=env)
