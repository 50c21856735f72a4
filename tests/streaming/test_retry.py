"""The one retry policy: which failures are retried, how the waits grow, when it gives up."""

from __future__ import annotations

import asyncio

import httpx
import pytest
import redis
from elastic_transport import ApiResponseMeta, HttpHeaders, NodeConfig
from elastic_transport import ConnectionError as TransportConnectionError
from elasticsearch import ApiError

from streaming.retry import RetryLater, TransientHTTPStatus, is_transient, retrying, until_done


def _api_error(status: int) -> ApiError:
    meta = ApiResponseMeta(status, "1.1", HttpHeaders(), 0.0, NodeConfig("http", "h", 9200))
    return ApiError("x", meta, {})


@pytest.mark.parametrize(
    ("exc", "transient"),
    [
        (TransportConnectionError("refused"), True),
        (_api_error(429), True),
        (_api_error(503), True),
        (_api_error(401), True),  # credentials: fixed by an operator, never worth losing data
        (_api_error(400), False),
        (_api_error(413), False),
        (redis.ConnectionError("down"), True),
        (httpx.ConnectError("refused"), True),
        (TransientHTTPStatus(502), True),
        (TransientHTTPStatus(404), False),
        (RetryLater("3 items"), True),
        (ValueError("a bug"), False),
    ],
)
def test_what_is_worth_another_try(exc: BaseException, transient: bool) -> None:
    assert is_transient(exc) is transient


def test_waits_double_up_to_the_cap_and_a_limited_policy_gives_up() -> None:
    slept: list[float] = []
    calls = 0

    def flaky() -> None:
        nonlocal calls
        calls += 1
        raise redis.ConnectionError("down")

    with pytest.raises(redis.ConnectionError):
        retrying("x", sleep=slept.append, attempts=6, max_backoff_s=4.0)(flaky)
    assert calls == 6
    assert slept == [0.5, 1.0, 2.0, 4.0, 4.0]


def test_a_permanent_failure_is_raised_at_once() -> None:
    calls = 0

    async def main() -> None:
        def bad() -> None:
            nonlocal calls
            calls += 1
            raise ValueError("not retryable")

        await until_done(bad, what="x")

    with pytest.raises(ValueError, match="not retryable"):
        asyncio.run(main())
    assert calls == 1
