"""The API's locks, route by route, without the stack: keys and roles, body size, CORS."""

from __future__ import annotations

import re
from types import SimpleNamespace

import pytest
from fastapi import HTTPException
from fastapi.testclient import TestClient

from alerting.api import MAX_BODY_BYTES, StreamSlots, create_app
from alerting.auth import KeyRing

ANALYST, OPERATOR = "analyst-key-abcdef", "operator-key-123456"
PUBLIC = {"/healthz", "/livez", "/metrics", "/"}
# What an operator may do that an analyst may not.
OPERATOR_ONLY = {("PUT", "/api/thresholds"), ("POST", "/api/backtest")}


def _client() -> TestClient:
    keyring = KeyRing.load(f"analyst:{ANALYST},operator:{OPERATOR}")
    # Only the key ring is real: a request that passes the locks fails later, which is fine here.
    app = create_app(SimpleNamespace(keyring=keyring))  # type: ignore[arg-type]
    return TestClient(app, raise_server_exceptions=False)


def _routes() -> list[tuple[str, str]]:
    """Every operation of the OpenAPI schema (what a client can call)."""
    schema = _client().app.openapi()  # type: ignore[attr-defined]
    return sorted((m.upper(), p) for p, ops in schema["paths"].items() for m in ops)


def _call(client: TestClient, method: str, path: str, key: str | None) -> int:
    url = re.sub(r"\{[^}]+\}", "x1", path)
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    body: dict[str, object] | None = {} if method in ("POST", "PUT") else None
    return int(client.request(method, url, headers=headers, json=body).status_code)


@pytest.mark.parametrize(("method", "path"), _routes())
def test_every_route_is_locked_as_its_role_says(method: str, path: str) -> None:
    client = _client()
    if path in PUBLIC:
        assert _call(client, method, path, None) not in (401, 403)
        return
    assert path.startswith("/api/")
    assert _call(client, method, path, None) == 401
    assert _call(client, method, path, "wrong-key-000000") == 401
    analyst = _call(client, method, path, ANALYST)
    if (method, path) in OPERATOR_ONLY:
        assert analyst == 403
    else:
        assert analyst not in (401, 403)
    assert _call(client, method, path, OPERATOR) not in (401, 403)


def test_the_matrix_covers_the_routes_that_change_things() -> None:
    assert len(_routes()) >= 10
    writes = {(m, p) for m, p in _routes() if m in ("POST", "PUT", "DELETE", "PATCH")}
    # Analysts acknowledge, annotate and judge the alerts they watch, silence the scopes they
    # have in hand and correct the model's answers (each recorded with who and when); every
    # other call that changes or costs something is an operator's.
    desk = {
        ("POST", "/api/alerts/{alert_id}/ack"),
        ("DELETE", "/api/alerts/{alert_id}/ack"),
        ("POST", "/api/alerts/{alert_id}/notes"),
        ("POST", "/api/alerts/{alert_id}/feedback"),
        ("POST", "/api/silences"),
        ("DELETE", "/api/silences/{silence_id}"),
        ("POST", "/api/documents/{doc_id}/label"),
    }
    assert writes - desk == OPERATOR_ONLY


def test_the_openapi_schema_declares_the_key_so_authorize_works_in_docs() -> None:
    schema = _client().app.openapi()  # type: ignore[attr-defined]
    [(name, scheme)] = schema["components"]["securitySchemes"].items()
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    for path, operations in schema["paths"].items():
        if path.startswith("/api/"):
            assert all({name: []} in op["security"] for op in operations.values()), path


def test_a_body_over_the_limit_gets_413_before_the_app_reads_it() -> None:
    client = _client()
    headers = {"Authorization": f"Bearer {OPERATOR}", "Content-Type": "application/json"}
    big = b"[" + b"1," * (MAX_BODY_BYTES // 2) + b"1]"
    response = client.put("/api/thresholds", content=big, headers=headers)
    assert response.status_code == 413
    assert "too large" in response.json()["detail"]

    def chunks() -> object:  # no Content-Length: counted as it arrives
        for _ in range(MAX_BODY_BYTES // 1024 + 2):
            yield b" " * 1024

    response = client.put("/api/thresholds", content=chunks(), headers=headers)
    assert response.status_code == 413
    small = client.put("/api/thresholds", json={"reason": ""}, headers=headers)
    assert small.status_code == 422  # under the limit: the normal validation answers


def test_cors_is_closed_by_default() -> None:
    response = _client().options(
        "/api/alerts",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"},
    )
    assert "access-control-allow-origin" not in {k.lower() for k in response.headers}


def test_a_client_that_keeps_guessing_keys_is_refused_for_a_while() -> None:
    client = _client()
    statuses = [_call(client, "GET", "/api/rules", f"guess-{i:010d}") for i in range(12)]
    assert statuses[:10] == [401] * 10 and statuses[10:] == [429, 429]
    # Even the right key waits: the address is refused before any key is checked.
    refused = client.get("/api/rules", headers={"Authorization": f"Bearer {ANALYST}"})
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) > 0


@pytest.mark.parametrize("path", ["/", "/api/rules", "/static/app.js", "/nope"])
def test_every_answer_forbids_inline_script_framing_and_sniffing(path: str) -> None:
    headers = _client().get(path).headers
    policy = headers["content-security-policy"]
    assert "script-src 'self'" in policy and "'unsafe-inline'" not in policy
    assert "frame-ancestors 'none'" in policy and "default-src 'none'" in policy
    assert headers["x-content-type-options"] == "nosniff"


def test_live_streams_are_capped_per_key_and_in_all() -> None:
    slots = StreamSlots(per_key=2, total=3)
    slots.take("analyst:a")
    slots.take("analyst:a")
    with pytest.raises(HTTPException) as refused:
        slots.take("analyst:a")
    assert refused.value.status_code == 429
    slots.take("analyst:b")
    with pytest.raises(HTTPException):
        slots.take("analyst:c")  # three open in all
    slots.give_back("analyst:a")
    slots.take("analyst:c")  # a stream that ended frees its slot


@pytest.mark.parametrize(
    "body",
    [
        {"sweep": {"negative_spike.default.ratio": [1.0 + i / 100 for i in range(25)]}},
        {"sweep": {f"k{i}": [1.0] for i in range(9)}},
        {"set": ["x=1"] * 33},
        {"since": "9" * 40},
    ],
)
def test_a_backtest_too_large_to_run_is_refused_with_422(body: dict[str, object]) -> None:
    client = _client()
    done = client.post("/api/backtest", json=body,
                       headers={"Authorization": f"Bearer {OPERATOR}"})  # fmt: skip
    assert done.status_code == 422, done.text
