"""`undertow demo`, the README's main command, as a user runs it (for a bounded time)."""

from __future__ import annotations

import subprocess

import orjson

from streaming.settings import Settings
from tests.integration.conftest import undertow


def test_demo_scores_the_feed_shows_the_burst_and_stops_its_workers(stack: Settings) -> None:
    done = undertow("demo", "--duration", "50", "--json", timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    final = orjson.loads(done.stdout.strip().splitlines()[-1])
    assert final["produced"] >= 1200  # the two hours of history, at least
    assert final["all_2h"]["total"] >= 1200
    acme = final["acme_15m"]  # the negative burst on ticker ACME, arriving live
    assert acme["total"] >= 5
    assert acme["negative_share"] >= 0.8
    assert "trend per topic" in done.stdout
    left = subprocess.run(
        ["pgrep", "-f", "streaming.cli.* worker --role"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert left.stdout.strip() == "", f"worker processes left running: {left.stdout}"
    assert undertow("stack", "status").returncode == 0  # a stack it did not start stays up
