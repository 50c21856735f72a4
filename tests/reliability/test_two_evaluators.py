"""Two `undertow alerting serve` on one Redis namespace: one evaluates, the other stands by.
A burst is notified once per alert; the active one is killed; the standby takes over and fires
the next alert, once."""

from __future__ import annotations

import signal
import subprocess
import time
from collections import Counter
from collections.abc import Callable
from datetime import timedelta

import orjson

from alerting.service import build
from tests.integration.conftest import alerting_pipeline, start_server  # noqa: F401 (fixture)
from tests.integration.pipeline import Pipeline, wait_for
from tests.integration.test_alerting import store
from tests.integration.traffic import background, burst, now

TOOK = "took the lease"


def _fired(pipeline: Pipeline) -> Counter[str]:
    """ "rule scope" of every "fired" notification (a burst fires each rule that sees it)."""
    out: Counter[str] = Counter()
    for value, _ in pipeline.messages(pipeline.settings.kafka.topics.alerts):
        body = orjson.loads(value or b"{}")
        if body["event"] == "fired":
            scope = body["alert"]["scope"]
            out[f"{body['alert']['rule']} {scope['kind']}:{scope['value']}"] += 1
    return out


def _scopes(fired: Counter[str]) -> set[str]:
    return {key.split(" ", 1)[1] for key in fired}


def test_two_evaluators_notify_each_alert_once_and_the_standby_takes_over(
    alerting_pipeline: Pipeline,  # noqa: F811
    figure: Callable[[str], None],
) -> None:
    pipeline = alerting_pipeline  # ticks every second; the lease lasts 1.5 s unrenewed
    servers = {name: start_server(pipeline, name)[0] for name in ("first", "second")}
    try:
        wait_for("one of them to take the lease",
                 lambda: any(TOOK in pipeline.log(n) for n in servers))  # fmt: skip
        time.sleep(3)  # both run several ticks: the other must still be standing by
        active = [n for n in servers if TOOK in pipeline.log(n)]
        assert len(active) == 1, {n: pipeline.log(n, 2000) for n in servers}
        (killed,) = active
        (standby,) = set(servers) - {killed}

        built = build(pipeline.settings)
        t0 = now()
        store(built, background(t0 - timedelta(hours=2), t0, per_minute=30), pipeline)
        store(built, burst(t0 - timedelta(minutes=3), 3, 15, topic="Macro", ticker="ZZZ"),
              pipeline)  # fmt: skip
        wait_for("the burst's alerts", lambda: "ticker:ZZZ" in _scopes(_fired(pipeline)))
        time.sleep(3)  # more ticks of both processes: nothing is notified twice

        servers[killed].send_signal(signal.SIGKILL)
        servers[killed].wait(timeout=30)
        died = time.monotonic()
        wait_for("the standby to take over", lambda: TOOK in pipeline.log(standby), timeout=30)
        took_s = time.monotonic() - died
        store(built, burst(now() - timedelta(minutes=3), 3, 15, topic="Macro", ticker="YYY"),
              pipeline)  # fmt: skip
        wait_for("the next alert, from the standby",
                 lambda: "ticker:YYY" in _scopes(_fired(pipeline)))  # fmt: skip
        time.sleep(3)
        fired = _fired(pipeline)
        figure(
            f"two evaluators on one namespace: notifications {dict(sorted(fired.items()))}; "
            f"active killed, standby took over in {took_s:.1f} s (ticks of 1 s)"
        )
        assert max(fired.values()) == 1, fired  # each alert (rule and scope) notified once
        assert {"ticker:ZZZ", "ticker:YYY"} <= _scopes(fired)
        # Two ticks, plus the time it takes to see it in the log on a busy machine.
        assert took_s < 2 * pipeline.settings.alerting.tick_s + 1.5
    finally:
        for proc in servers.values():
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
