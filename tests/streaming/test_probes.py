"""A worker's probes: alive as soon as it serves, ready only once what it waits for holds."""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Counter

from streaming.probes import Readiness, app


def _get(path: str, readiness: Readiness) -> tuple[str, bytes]:
    registry = CollectorRegistry()
    Counter("undertow_probe_test", "a metric", registry=registry).inc()
    answered: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]]) -> None:
        answered["status"] = status

    environ = {"PATH_INFO": path, "REQUEST_METHOD": "GET", "QUERY_STRING": ""}
    body = b"".join(app(registry, readiness)(environ, start_response))
    return answered["status"], body


def test_ready_waits_for_every_condition_and_says_which() -> None:
    readiness = Readiness("model", "consumer")
    status, body = _get("/ready", readiness)
    assert status.startswith("503") and body == b"waiting for consumer, model\n"
    assert _get("/healthz", readiness)[0].startswith("200")  # alive meanwhile
    readiness.mark("model")
    assert _get("/ready", readiness)[1] == b"waiting for consumer\n"
    readiness.mark("consumer")
    assert _get("/ready", readiness) == ("200 OK", b"ready\n")
    status, metrics = _get("/metrics", readiness)
    assert status.startswith("200") and b"undertow_probe_test_total 1.0" in metrics
