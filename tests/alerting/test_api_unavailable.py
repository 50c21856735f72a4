"""A backing service that is down or not ready yet is a 503 the caller can retry, never a 500:
the alert history behind ``GET /api/alerts`` while Elasticsearch is unreachable, or while a
new alerts index's shards are still starting."""

from __future__ import annotations

import socket
from types import SimpleNamespace
from typing import Any

from elastic_transport import ApiResponseMeta, HttpHeaders, NodeConfig
from elasticsearch import ApiError, Elasticsearch
from fastapi.testclient import TestClient

from alerting.api import create_app
from alerting.auth import KeyRing

ANALYST = "analyst-key-abcdef"
HEADERS = {"Authorization": f"Bearer {ANALYST}"}


def _client(es: Any) -> TestClient:
    # No alert in the live store: the routes that fall back to the history ask Elasticsearch.
    live = SimpleNamespace(get=lambda *_: None, judge=lambda *_: None)
    services = SimpleNamespace(
        keyring=KeyRing.load(f"analyst:{ANALYST}"), es=es, alerts_index="t-alerts", alerts=live
    )
    app = create_app(services)  # type: ignore[arg-type]
    return TestClient(app, raise_server_exceptions=False)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Answers:
    """An Elasticsearch whose searches answer with ``status`` (what a node says while a new
    index's primary shards are not yet active is 503 search_phase_execution_exception)."""

    def __init__(self, status: int) -> None:
        self.status = status

    def search(self, **_: Any) -> dict[str, Any]:
        meta = ApiResponseMeta(self.status, "1.1", HttpHeaders(), 0.0, NodeConfig("http", "h", 1))
        raise ApiError("search_phase_execution_exception", meta, {})


def test_unreachable_elasticsearch_is_a_503_with_a_retry_after() -> None:
    es = Elasticsearch(f"http://127.0.0.1:{_closed_port()}", request_timeout=2, max_retries=0)
    response = _client(es).get("/api/alerts", headers=HEADERS)
    assert response.status_code == 503
    assert "unavailable" in response.json()["detail"]
    assert response.headers["retry-after"] == "1"


def test_feedback_on_an_old_alert_while_elasticsearch_is_down_is_a_503() -> None:
    es = Elasticsearch(f"http://127.0.0.1:{_closed_port()}", request_timeout=2, max_retries=0)
    response = _client(es).post("/api/alerts/a1/feedback", json={"verdict": "noise"},
                                headers=HEADERS)  # fmt: skip
    assert response.status_code == 503
    assert response.headers["retry-after"] == "1"


def test_an_alert_asked_for_while_elasticsearch_is_down_is_a_503_not_a_404() -> None:
    es = Elasticsearch(f"http://127.0.0.1:{_closed_port()}", request_timeout=2, max_retries=0)
    assert _client(es).get("/api/alerts/a1", headers=HEADERS).status_code == 503


def test_shards_still_starting_are_a_503_not_a_500() -> None:
    response = _client(Answers(503)).get("/api/alerts", headers=HEADERS)
    assert response.status_code == 503
    assert "unavailable" in response.json()["detail"]


def test_a_query_elasticsearch_refuses_is_still_a_500() -> None:
    # A 400 from Elasticsearch means the query this code built is wrong: a bug to see, not a
    # service to wait for.
    response = _client(Answers(400)).get("/api/alerts", headers=HEADERS)
    assert response.status_code == 500
