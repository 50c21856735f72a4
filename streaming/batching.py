"""Micro-batching with an explicit contract (as Triton's and BentoML's batchers have).

A batch is handed on as soon as it holds ``max_batch`` items or ``max_wait_s`` has passed since
its first item arrived, whichever comes first. Items arriving while a batch is being handled wait
in a bounded queue: when it is full, ``put`` waits too, which is the back-pressure that slows
consumption down to what the handler can take. A batch is never empty, and every item put is in
exactly one batch, in arrival order.

Up to ``in_flight`` handler calls may run at once, so the next batch is formed and handed on
while an earlier one still waits on I/O (the score worker's inference overlaps the previous
batch's produce and acknowledgement). Batches are handed on in order; a handler that needs its
effects in order orders them itself. A handler's error ends ``run`` with that error.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar, cast

T = TypeVar("T")


class MicroBatcher(Generic[T]):
    """Collects items into batches and awaits ``handler`` on each, one batch at a time."""

    def __init__(
        self,
        handler: Callable[[list[T]], Awaitable[object]],
        *,
        max_batch: int,
        max_wait_s: float,
        capacity: int | None = None,
        in_flight: int = 1,
    ) -> None:
        if max_batch < 1 or max_wait_s < 0 or in_flight < 1:
            raise ValueError("max_batch and in_flight must be >= 1 and max_wait_s >= 0")
        self.handler = handler
        self.max_batch = max_batch
        self.max_wait_s = max_wait_s
        self.in_flight = in_flight
        self._queue: asyncio.Queue[tuple[float, T]] = asyncio.Queue(capacity or 2 * max_batch)

    async def put(self, item: T) -> None:
        """Add an item; waits while the queue is full (back-pressure)."""
        await self._queue.put((asyncio.get_running_loop().time(), item))

    def pending(self) -> int:
        """Items waiting for a batch."""
        return self._queue.qsize()

    async def next_batch(self) -> list[T]:
        """The next batch, by the contract above."""
        loop = asyncio.get_running_loop()
        arrived, first = await self._queue.get()
        batch = [first]
        deadline = arrived + self.max_wait_s
        while len(batch) < self.max_batch:
            try:
                batch.append(self._queue.get_nowait()[1])
                continue
            except asyncio.QueueEmpty:
                pass
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            try:
                batch.append((await asyncio.wait_for(self._queue.get(), remaining))[1])
            except TimeoutError:
                break
        return batch

    async def run(self) -> None:
        """Hand batches to the handler until cancelled; a handler error ends the loop."""
        running: set[asyncio.Future[object]] = set()
        try:
            while True:
                while len(running) >= self.in_flight:
                    done, _ = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
                    _reap(done, running)
                batch = await self._next_watching(running)
                running.add(asyncio.ensure_future(self.handler(batch)))
        finally:
            for task in running:
                task.cancel()

    async def _next_watching(self, running: set[asyncio.Future[object]]) -> list[T]:
        """The next batch, raising at once if a running handler fails meanwhile."""
        getter: asyncio.Future[object] = asyncio.ensure_future(self.next_batch())
        try:
            while True:
                done, _ = await asyncio.wait(
                    {getter, *running}, return_when=asyncio.FIRST_COMPLETED
                )
                _reap(done - {getter}, running)
                if getter in done:
                    return cast(list[T], getter.result())
        finally:
            getter.cancel()


def _reap(done: set[asyncio.Future[object]], running: set[asyncio.Future[object]]) -> None:
    """Forget finished handler calls; re-raise the first one's error."""
    for task in done:
        running.discard(task)
        task.result()
