"""Worker metrics: what a Prometheus scrape of a worker shows after it handled batches."""

from __future__ import annotations

import asyncio
import socket
import time
import urllib.request

from prometheus_client.parser import text_string_to_metric_families

from streaming.messages import Envelope, Outcome
from streaming.metrics import TimedScorer, WorkerMetrics


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env(topic: str, offset: int, age_s: float) -> Envelope:
    now = time.time()
    return Envelope(topic, 0, offset, None, b"{}", int((now - age_s) * 1000), now - 0.2)


def _scrape(port: int) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(body)
        for s in family.samples
    }


def test_a_scrape_shows_documents_dead_letters_batches_delays_and_inference() -> None:
    metrics = WorkerMetrics("score")
    port = metrics.serve(_free_port())
    assert port is not None

    async def handler(batch: list[Envelope]) -> Outcome:  # 1 of every 3 is a dead letter
        await asyncio.sleep(0.05 if batch[0].topic == "news" else 0.0)
        return Outcome(done=len(batch) - len(batch) // 3, dead_lettered=len(batch) // 3)

    async def overlapping() -> None:  # two batches in flight at once are counted once each
        handle = metrics.instrument(handler)
        await asyncio.gather(
            handle([_env("news", i, age_s=1.5) for i in range(6)]),
            handle([_env("social", i, age_s=1.5) for i in range(3)]),
        )

    asyncio.run(overlapping())

    class Scorer:
        def score(self, texts: list[str]) -> list[object]:
            time.sleep(0.03)
            return []

    TimedScorer(Scorer(), metrics).score(["a", "b"])
    got = _scrape(port)
    assert got[("undertow_documents_in_total", (("role", "score"), ("topic", "news")))] == 6
    assert got[("undertow_documents_in_total", (("role", "score"), ("topic", "social")))] == 3
    assert got[("undertow_documents_out_total", (("role", "score"),))] == 6
    assert got[("undertow_dead_lettered_total", (("role", "score"),))] == 3
    assert got[("undertow_batch_size_count", (("role", "score"),))] == 2
    assert got[("undertow_batch_size_sum", (("role", "score"),))] == 9
    # The records were 1.5 s old: every one lands above the 1 s bucket, none above 2.5 s.
    delay = ("undertow_stage_delay_seconds_bucket", (("le", "1.0"), ("role", "score")))
    assert got[delay] == 0
    assert got[("undertow_stage_delay_seconds_bucket", (("le", "2.5"), ("role", "score")))] == 9
    # The first message of each batch had waited 0.2 s.
    assert got[("undertow_batch_wait_seconds_bucket", (("le", "0.1"), ("role", "score")))] == 0
    assert got[("undertow_batch_wait_seconds_bucket", (("le", "0.25"), ("role", "score")))] == 2
    assert got[("undertow_inference_seconds_count", ())] == 1
    assert got[("undertow_inference_seconds_sum", ())] >= 0.03


def test_a_taken_port_leaves_the_worker_running_without_metrics() -> None:
    first = WorkerMetrics("sink")
    port = first.serve(_free_port() - 1)  # the sink serves on base + 1
    assert port is not None
    assert WorkerMetrics("sink").serve(port - 1) is None
    assert WorkerMetrics("score").serve(None) is None


def test_a_scrape_shows_the_groups_lag_per_partition_read_at_scrape_time() -> None:
    metrics = WorkerMetrics("score")
    lags: list[dict[tuple[str, int], int] | None] = [{("news", 0): 5, ("news", 1): 0}, None]
    metrics.watch_lag("u-score", lambda: lags[0])
    port = metrics.serve(_free_port())
    assert port is not None
    got = _scrape(port)
    lag = "undertow_consumer_lag"
    assert got[(lag, (("group", "u-score"), ("partition", "0"), ("topic", "news")))] == 5
    assert got[(lag, (("group", "u-score"), ("partition", "1"), ("topic", "news")))] == 0
    lags.pop(0)  # Kafka cannot say now: no lag samples, and the scrape still answers
    got = _scrape(port)
    assert not [key for key in got if key[0] == lag]
    assert ("undertow_inference_seconds_count", ()) in got
