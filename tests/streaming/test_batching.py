"""The micro-batching contract: max_batch items or max_wait since the first item."""

from __future__ import annotations

import asyncio

import pytest

from streaming.batching import MicroBatcher


async def _collect(
    arrivals: list[tuple[float, int]], max_batch: int, max_wait_s: float
) -> list[tuple[float, list[int]]]:
    """Feed items at the given times; return (time handed on, batch) pairs."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    out: list[tuple[float, list[int]]] = []

    async def handler(batch: list[int]) -> None:
        out.append((loop.time() - start, batch))

    batcher = MicroBatcher(handler, max_batch=max_batch, max_wait_s=max_wait_s, capacity=1000)
    runner = asyncio.create_task(batcher.run())
    for at, item in arrivals:
        await asyncio.sleep(max(0.0, start + at - loop.time()))
        await batcher.put(item)
    await asyncio.sleep(max_wait_s + 0.2)
    runner.cancel()
    return out


def test_a_full_batch_goes_at_once() -> None:
    out = asyncio.run(_collect([(0.0, i) for i in range(10)], max_batch=4, max_wait_s=1.0))
    assert [b for _, b in out[:2]] == [[0, 1, 2, 3], [4, 5, 6, 7]]
    assert out[0][0] < 0.5 and out[1][0] < 0.5  # did not wait for the 1 s timer


def test_a_partial_batch_goes_after_max_wait_from_its_first_item() -> None:
    out = asyncio.run(_collect([(0.0, 1), (0.15, 2), (0.45, 3)], max_batch=100, max_wait_s=0.3))
    assert [b for _, b in out] == [[1, 2], [3]]
    first_at, second_at = out[0][0], out[1][0]
    assert 0.28 <= first_at < 0.45  # 0.3 s after item 1, not after item 2
    assert 0.73 <= second_at < 0.95  # 0.3 s after item 3 arrived


def test_every_item_once_in_order_and_no_empty_batch() -> None:
    arrivals = [(i * 0.003, i) for i in range(200)]
    out = asyncio.run(_collect(arrivals, max_batch=16, max_wait_s=0.02))
    flat = [item for _, batch in out for item in batch]
    assert flat == list(range(200))
    assert all(1 <= len(batch) <= 16 for _, batch in out)


def test_put_waits_while_the_queue_is_full() -> None:
    async def scenario() -> tuple[bool, int]:
        release = asyncio.Event()

        async def slow(batch: list[int]) -> None:
            await release.wait()

        batcher = MicroBatcher(slow, max_batch=2, max_wait_s=0.0, capacity=3)
        runner = asyncio.create_task(batcher.run())
        for i in range(5):  # 2 in the stuck batch + 3 queued
            await batcher.put(i)
        blocked = asyncio.create_task(batcher.put(99))
        await asyncio.sleep(0.1)
        was_blocked = not blocked.done()
        release.set()
        await asyncio.wait_for(blocked, 1.0)
        runner.cancel()
        return was_blocked, batcher.pending()

    was_blocked, _ = asyncio.run(scenario())
    assert was_blocked


def test_bad_contract_is_refused() -> None:
    async def noop(batch: list[int]) -> None:
        return None

    with pytest.raises(ValueError, match="max_batch"):
        MicroBatcher(noop, max_batch=0, max_wait_s=0.1)
    with pytest.raises(ValueError, match="in_flight"):
        MicroBatcher(noop, max_batch=1, max_wait_s=0.1, in_flight=0)


def test_with_two_in_flight_the_next_batch_goes_while_the_first_is_handled() -> None:
    async def scenario(in_flight: int) -> list[str]:
        events: list[str] = []
        release = asyncio.Event()

        async def handler(batch: list[int]) -> None:
            events.append(f"start {batch}")
            if batch == [0, 1]:
                await release.wait()
            events.append(f"end {batch}")

        batcher = MicroBatcher(handler, max_batch=2, max_wait_s=0.0, in_flight=in_flight)
        runner = asyncio.create_task(batcher.run())
        for i in range(4):
            await batcher.put(i)
        await asyncio.sleep(0.1)
        release.set()
        await asyncio.sleep(0.1)
        runner.cancel()
        return events

    assert asyncio.run(scenario(1)) == ["start [0, 1]", "end [0, 1]", "start [2, 3]", "end [2, 3]"]
    assert asyncio.run(scenario(2)) == ["start [0, 1]", "start [2, 3]", "end [2, 3]", "end [0, 1]"]


def test_a_failing_batch_in_flight_ends_the_run_even_while_no_item_arrives() -> None:
    async def scenario() -> None:
        async def handler(batch: list[int]) -> None:
            await asyncio.sleep(0.05)
            raise RuntimeError("sink gone")

        batcher = MicroBatcher(handler, max_batch=1, max_wait_s=0.0, in_flight=2)
        runner = asyncio.create_task(batcher.run())
        await batcher.put(1)  # nothing follows: the error must not wait for a next batch
        await asyncio.wait_for(runner, 1.0)

    with pytest.raises(RuntimeError, match="sink gone"):
        asyncio.run(scenario())
