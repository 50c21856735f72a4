"""Schemathesis against the running API's own OpenAPI schema: generated requests, with an
operator key, never get a 5xx and every answer matches the schema."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error, response_schema_conformance

from tests.integration.pipeline import Pipeline

ANALYST, OPERATOR = "analyst-key-123", "operator-key-456"  # tests.integration.conftest.KEYS


@pytest.fixture
def api_schema(server: tuple[str, Pipeline]) -> schemathesis.schemas.BaseSchema:
    url, _ = server
    schema = schemathesis.openapi.from_url(f"{url}/openapi.json")
    # The live feed never ends; it is tested by test_alerting with a real subscriber.
    return schema.exclude(path="/api/alerts/stream")


def test_generated_requests_get_no_5xx_and_answers_match_the_schema(
    api_schema: schemathesis.schemas.BaseSchema, server: tuple[str, Pipeline]
) -> None:
    operations = [result.ok() for result in api_schema.get_all_operations()]  # type: ignore[union-attr]
    assert len(operations) >= 9
    statuses: list[int] = []
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=15, deadline=None, database=None, suppress_health_check=list(HealthCheck)
        )
        def run(case: Any) -> None:
            response = case.call_and_validate(
                headers={"Authorization": f"Bearer {OPERATOR}"},
                checks=[not_a_server_error, response_schema_conformance],
            )
            statuses.append(response.status_code)

        run()
    # Generated requests were really sent: some accepted, some refused with a 4xx.
    assert len(statuses) >= 3 * len(operations)
    assert any(s < 300 for s in statuses) and any(400 <= s < 500 for s in statuses)
    # The keys, right or wrong, never reach the service's log.
    url, pipeline = server
    for key in (ANALYST, "wrong-key-that-must-not-be-logged"):
        httpx.get(f"{url}/api/alerts", headers={"Authorization": f"Bearer {key}"}, timeout=10)
    log = (pipeline.home / "alerting.log").read_text(errors="replace")
    assert "GET /api/alerts" in log and "401" in log  # the requests were logged...
    for key in (OPERATOR, ANALYST, "wrong-key-that-must-not-be-logged"):
        assert key not in log  # ...without their keys
