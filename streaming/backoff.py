"""Retry a blocking call with exponential back-off until it succeeds (a sink that is down
holds the batch instead of losing it)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import TypeVar

log = logging.getLogger(__name__)
R = TypeVar("R")


async def until_done(
    call: Callable[[], R],
    *,
    what: str,
    retry_on: tuple[type[BaseException], ...],
    max_backoff_s: float = 30.0,
    first_backoff_s: float = 0.25,
    on_retry: Callable[[str], None] | None = None,
) -> R:
    """Run ``call`` in a thread; on ``retry_on`` errors wait and try again, doubling the wait."""
    backoff = first_backoff_s
    while True:
        try:
            return await asyncio.to_thread(call)
        except retry_on as exc:
            log.warning(
                "%s failed (%s: %s); retrying in %.1f s", what, type(exc).__name__, exc, backoff
            )
            if on_retry is not None:
                on_retry(what)
        await asyncio.sleep(backoff)
        backoff = min(backoff * 2, max_backoff_s)
