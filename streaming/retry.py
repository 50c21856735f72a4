"""The one retry policy: what is worth retrying, and how (tenacity, exponential back-off).

Transient failures are retried: a service that cannot be reached or times out, overload
(HTTP 429) and server errors (5xx), Redis errors, Kafka errors its client calls retriable (and
produce timeouts), credentials refused (401/403: an operator fixes them, and giving up would
lose the data) and a part of a batch that must be sent again (``RetryLater``). Anything else
is permanent and raised at once: the caller decides what to do with what failed (dead-letter
it, split its batch, record the failure).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import httpx
import redis
from aiokafka.errors import KafkaError, KafkaTimeoutError
from elasticsearch import ApiError, TransportError
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    stop_never,
    wait_exponential,
)

log = logging.getLogger(__name__)
R = TypeVar("R")
# Refusals about the connection, not the request: retried (back-pressure) until fixed.
RETRYABLE_STATUS = frozenset({401, 403, 408, 429})


class RetryLater(Exception):
    """Part of the work must be sent again (e.g. bulk items refused with 429)."""


class TransientHTTPStatus(Exception):
    """An HTTP answer worth retrying (429 or 5xx), raised by callers of plain HTTP clients."""

    def __init__(self, status: int) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status


def retryable_status(status: int) -> bool:
    """Overload, server errors and credential refusals are retried; other statuses are not."""
    return status >= 500 or status in RETRYABLE_STATUS


def is_transient(exc: BaseException) -> bool:
    """The one place that decides whether a failure is worth another try."""
    if isinstance(exc, ApiError):
        return retryable_status(int(exc.meta.status))
    if isinstance(exc, TransientHTTPStatus):
        return retryable_status(exc.status)
    if isinstance(exc, KafkaError):
        return bool(exc.retriable) or isinstance(exc, KafkaTimeoutError)
    return isinstance(exc, RetryLater | TransportError | redis.RedisError | httpx.TransportError)


def _announce(
    what: str, on_retry: Callable[[str], None] | None
) -> Callable[[RetryCallState], None]:
    def before_sleep(state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        wait = state.next_action.sleep if state.next_action else 0.0
        log.warning("%s failed (%s: %s); retrying in %.1f s", what, type(exc).__name__, exc, wait)
        if on_retry is not None:
            on_retry(what)

    return before_sleep


def policy(
    what: str,
    *,
    max_backoff_s: float = 30.0,
    first_backoff_s: float = 0.5,
    attempts: int | None = None,
    on_retry: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """The tenacity arguments of the policy: retry transient failures, doubling the wait from
    ``first_backoff_s`` up to ``max_backoff_s``, forever or ``attempts`` times in all."""
    return {
        "retry": retry_if_exception(is_transient),
        "wait": wait_exponential(
            multiplier=first_backoff_s, min=first_backoff_s, max=max_backoff_s
        ),
        "stop": stop_never if attempts is None else stop_after_attempt(attempts),
        "before_sleep": _announce(what, on_retry),
        "reraise": True,
    }


def retrying(
    what: str, *, sleep: Callable[[float], None] | None = None, **options: Any
) -> Retrying:
    """A blocking retrier under the policy (``sleep``: a stand-in for time.sleep in tests)."""
    arguments = policy(what, **options)
    if sleep is not None:
        arguments["sleep"] = sleep
    return Retrying(**arguments)


async def until_done(call: Callable[[], R], *, what: str, **options: Any) -> R:
    """Run the blocking ``call`` in a thread until it succeeds or fails permanently."""
    retrier = AsyncRetrying(**policy(what, **options))
    result: R = await retrier(asyncio.to_thread, call)
    return result


async def until_sent(call: Callable[[], Awaitable[R]], *, what: str, **options: Any) -> R:
    """Await ``call()`` until it succeeds or fails permanently (an async ``until_done``)."""
    retrier = AsyncRetrying(**policy(what, **options))
    result: R = await retrier(call)
    return result
