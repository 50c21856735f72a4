"""Helpers for tests against the stack's real Alertmanager and Mailpit: read the e-mails that
arrived, ask ``amtool`` what Alertmanager holds."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable
from typing import Any, TypeVar

import httpx

from deploy.stack.alertmanager import AlertmanagerService
from deploy.stack.mailpit import MailpitService
from undertow.settings import Settings

T = TypeVar("T")


def eventually(probe: Callable[[], T | None], timeout_s: float = 60, what: str = "") -> T:
    """The first truthy answer of ``probe`` within ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while True:
        found = probe()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout_s:.0f} s: {what}")
        time.sleep(0.5)


def mails(settings: Settings, query: str) -> list[dict[str, Any]]:
    """The e-mails Mailpit holds that match a search (``query`` in its search syntax), each
    with its text body."""
    base = MailpitService(settings.stack).url
    found = httpx.get(f"{base}/api/v1/search", params={"query": query, "limit": 200}).json()
    out = []
    for message in found.get("messages") or []:
        full = httpx.get(f"{base}/api/v1/message/{message['ID']}").json()
        out.append(message | {"Text": full.get("Text", ""), "HTML": full.get("HTML", "")})
    return out


def amtool(settings: Settings, *args: str) -> str:
    """Run Alertmanager's own command line against the stack's Alertmanager."""
    service = AlertmanagerService(settings.stack)
    done = subprocess.run(
        [str(service.amtool), f"--alertmanager.url={service.url}", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def amtool_json(settings: Settings, *args: str) -> Any:
    """``amtool -o json ...``, parsed."""
    return json.loads(amtool(settings, "-o", "json", *args))
