"""`undertow demo`, the README's main command, as a user runs it (for a bounded time)."""

from __future__ import annotations

import subprocess
from functools import partial

import orjson

from tests.integration.alertmanager import eventually, mails
from tests.integration.conftest import undertow
from undertow.settings import Settings


def test_demo_scores_the_feed_alerts_on_the_burst_and_stops_its_processes(stack: Settings) -> None:
    done = undertow("demo", "--duration", "80", "--json", timeout=400)
    assert done.returncode == 0, done.stderr[-3000:]
    final = orjson.loads(done.stdout.strip().splitlines()[-1])
    assert final["produced"] >= 2400  # the two hours of history, at least
    assert final["all_2h"]["total"] >= 2300  # all but its first minute or so, and the live part
    acme = final["acme_15m"]  # the negative burst on ticker ACME, arriving live
    assert acme["total"] >= 5
    assert acme["negative_share"] >= 0.8
    assert "trend per topic" in done.stdout
    fired = {a["scope"] for a in final["alerts"] if a["state"] == "firing"}
    # The alerting service saw the burst, on its ticker and its topic, and nothing else fired.
    assert fired == {"ticker:ACME", "topic:Energy | Oil"}, final["alerts"]
    assert all(a["examples"] for a in final["alerts"] if a["state"] == "firing")
    # Every critical alert reached Alertmanager and an e-mail for it reached the SMTP server.
    critical = {a["id"] for a in final["alerts"] if a["severity"] == "critical"}
    assert critical, final["alerts"]
    assert critical <= {a["alert_id"] for a in final["alertmanager"]}
    for alert_id in critical:
        eventually(partial(mails, stack, alert_id), 60, f"the e-mail of alert {alert_id}")
    left = subprocess.run(
        ["pgrep", "-f", "undertow.cli.* (worker --role|alerting serve)"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert left.stdout.strip() == "", f"worker processes left running: {left.stdout}"
    assert undertow("stack", "status").returncode == 0  # a stack it did not start stays up
