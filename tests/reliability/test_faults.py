"""Zero loss, zero double counting while a service of the stack goes away and comes back.

Each scenario drives documents with unique ids through an isolated pipeline (its own topics,
groups, Redis prefix and indices), injects the fault with the project's own stack commands,
waits until both consumer groups have committed everything, and checks with independent
clients that every document is in Elasticsearch exactly once and counted exactly once in the
Redis windows. Each prints one figure line.
"""

from __future__ import annotations

import hashlib
import signal
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from kafka.admin import ConfigResource, KafkaAdminClient

from models.serving.registry import SHIPPED_DIR
from streaming.clients import kafka_python_kwargs
from tests.integration.conftest import undertow
from tests.integration.pipeline import Pipeline, wait_for
from tests.integration.test_pipeline import valid_docs
from tests.models.tiny import build
from undertow.settings import Settings


@pytest.fixture
def pipeline(stack: Settings, tmp_path: Path) -> Iterator[Pipeline]:
    # Short back-off so the catch-up after a fault is quick.
    p = Pipeline(tmp_path, {"streaming": {"max_backoff_s": 2}})
    try:
        yield p
    finally:
        p.stop()
        up = undertow("stack", "up")  # whatever a failed scenario left stopped
        assert up.returncode == 0, up.stderr


def _stop(service: str) -> None:
    done = undertow("stack", "down", "--service", service)
    assert done.returncode == 0, done.stderr


def _start() -> None:
    done = undertow("stack", "up", timeout=300)
    assert done.returncode == 0, done.stderr


def _run(
    pipeline: Pipeline,
    figure: Callable[[str], None],
    name: str,
    n: int,
    fault: Callable[[], None],
    during_feed: bool = True,
) -> None:
    ticker = f"ZR{uuid.uuid4().hex[:6].upper()}"
    docs = valid_docs(n, ticker)
    pipeline.start("score")
    pipeline.start("sink")
    half = n // 2

    def feed(part: list[tuple[bytes, bytes]]) -> None:
        for i in range(0, len(part), 25):
            pipeline.produce(part[i : i + 25])
            time.sleep(0.05)

    if during_feed:
        feeder = threading.Thread(target=feed, args=(docs,))
        feeder.start()
        time.sleep(2.0)
        fault()
        feeder.join()
    else:  # the fault hits while the workers still have a backlog to consume
        feed(docs[:half])
        fault()
        feed(docs[half:])
    wait_for("both groups to commit everything", pipeline.settled, timeout=300)
    for role in ("score", "sink"):
        assert pipeline.procs[role].poll() is None, (
            f"the {role} worker died:\n{pipeline.log(role, 3000)}"
        )
    indexed = pipeline.es_count()
    counted = int(pipeline.trends(f"ticker:{ticker}")["total"])
    dead = len(pipeline.dead_letters())
    figure(
        f"{name}: in {n}, indexed {indexed}, counted {counted}, dead-lettered {dead}, "
        f"lost {max(0, n - indexed)}, duplicated {max(0, counted - n)}"
    )
    assert (indexed, counted, dead) == (n, n, 0), pipeline.log("sink", 3000)


def _outage(service: str, down_s: float) -> Callable[[], None]:
    def fault() -> None:
        _stop(service)
        time.sleep(down_s)
        _start()

    return fault


@pytest.mark.parametrize(("service", "down_s"), [("elasticsearch", 30), ("redis", 10)])
def test_a_sink_service_down_mid_run(
    pipeline: Pipeline, figure: Callable[[str], None], service: str, down_s: int
) -> None:
    _run(pipeline, figure, f"{service} stopped {down_s} s", 2000, _outage(service, down_s))


def test_kafka_broker_restarted(pipeline: Pipeline, figure: Callable[[str], None]) -> None:
    _run(pipeline, figure, "kafka broker restarted", 2000, _outage("kafka", 0), during_feed=False)


def test_each_worker_killed_twice_mid_batch(
    pipeline: Pipeline, figure: Callable[[str], None]
) -> None:
    def fault() -> None:
        for _ in range(2):
            for role in ("score", "sink"):
                pipeline.kill(role)  # SIGKILL: no goodbye, whatever batch it held is redone
                pipeline.start(role)
                time.sleep(1.5)

    _run(pipeline, figure, "score and sink SIGKILLed twice each", 3000, fault)


def test_a_model_hot_swap_mid_stream_stamps_every_document_with_one_version(
    stack: Settings, tmp_path: Path, figure: Callable[[str], None]
) -> None:
    registry = tmp_path / "registry"
    build(registry / "tiny-swap", "tiny-swap")
    pipeline = Pipeline(tmp_path, {"models": {"registry_dir": str(registry), "hotswap_poll_s": 1}})
    shipped = (SHIPPED_DIR / "CURRENT").read_text().strip()
    n = 2000

    def fault() -> None:
        # The swap comes between the halves, with the worker running: the first half is
        # scored by the shipped model before it, the second by the new one after it. Waiting
        # on both sides makes the split exact however slowly this machine starts the worker.
        wait_for("the first half indexed", lambda: pipeline.es_count() >= n // 2, timeout=300)
        done = undertow(
            "--config", str(pipeline.config), "promote", "tiny-swap", "--force", "--reason", "swap"
        )
        assert done.returncode == 0, done.stderr
        wait_for("the worker to switch", lambda: "to tiny-swap" in pipeline.log("score"))

    try:
        _run(pipeline, figure, "model hot swap mid-stream", n, fault, during_feed=False)
        versions = Counter(d["model"]["version"] for d in pipeline.es_docs(size=3000))
        figure(f"model hot swap mid-stream: versions stamped {dict(versions)}")
        assert versions == {shipped: n // 2, "tiny-swap": n // 2}  # one version per document
    finally:
        pipeline.stop()


def test_a_second_score_worker_joins_then_leaves_mid_run(
    pipeline: Pipeline, figure: Callable[[str], None]
) -> None:
    def fault() -> None:
        pipeline.start("score", "score-b")  # the group rebalances: partitions are shared
        wait_for("the second score worker to take a batch",
                 lambda: "score worker: ScoreCounters(received=" in pipeline.log("score-b"),
                 timeout=120)  # fmt: skip
        pipeline.kill("score-b", signal.SIGTERM)  # it leaves: another rebalance

    _run(pipeline, figure, "score worker joined, then left", 6000, fault)


def test_workers_killed_while_their_batches_are_in_flight(
    pipeline: Pipeline, figure: Callable[[str], None]
) -> None:
    def fault() -> None:
        # Both workers must be up and mid-backlog, not still starting, when Redis goes.
        wait_for("the sink to index its first batch", lambda: pipeline.es_count() > 0)
        _stop("redis")  # both workers now hold a batch they cannot finish
        wait_for("the score worker to hold a batch", lambda: "retrying in" in pipeline.log("score"))
        wait_for("the sink worker to hold a batch",
                 lambda: "Redis windows failed" in pipeline.log("sink"))  # fmt: skip
        pipeline.kill("sink")  # SIGKILL in the middle of its batch
        began = time.monotonic()
        pipeline.kill("score", signal.SIGTERM)  # a stop does not wait for the stuck batch
        stopped_s.append(time.monotonic() - began)
        _start()
        for role in ("score", "sink"):
            pipeline.start(role)

    stopped_s: list[float] = []
    _run(pipeline, figure, "sink SIGKILLed, score SIGTERMed, batches in flight", 2000, fault,
         during_feed=False)  # fmt: skip
    figure(f"score worker stopped with its batch stuck on Redis in {stopped_s[0]:.1f} s")
    assert stopped_s[0] < 30


def test_a_dead_letter_topic_that_refuses_the_letters_does_not_stop_the_worker(
    pipeline: Pipeline, figure: Callable[[str], None]
) -> None:
    # An operator set the dead-letter topic below what undertow sized it for.
    admin = KafkaAdminClient(**kafka_python_kwargs(pipeline.settings.kafka))
    try:
        dlq = pipeline.settings.kafka.topics.dlq
        admin.alter_configs([ConfigResource("TOPIC", dlq, configs={"max.message.bytes": "2048"})])
    finally:
        admin.close()
    ticker = f"ZD{uuid.uuid4().hex[:6].upper()}"
    docs = valid_docs(500, ticker)
    broken = [(f"b{i}".encode(), b'{"id": "b%d", "text": "' % i + b"x" * 5000) for i in range(10)]
    pipeline.start("score")
    pipeline.start("sink")
    pipeline.produce(docs[:250] + broken + docs[250:])
    wait_for("both groups to commit everything", pipeline.settled, timeout=300)
    letters = pipeline.dead_letters()
    indexed = pipeline.es_count()
    counted = int(pipeline.trends(f"ticker:{ticker}")["total"])
    figure(f"dead-letter topic refusing 5 KB letters: in 510, indexed {indexed}, "
           f"counted {counted}, dead-lettered {len(letters)} without their values")  # fmt: skip
    assert pipeline.procs["score"].poll() is None, pipeline.log("score", 3000)
    assert (indexed, counted, len(letters)) == (500, 500, 10)
    originals = {hashlib.sha256(v).hexdigest() for _, v in broken}
    for value, headers in letters:
        assert value == b"" and headers["value_dropped"] == "true"
        assert headers["reason"] == "invalid_json" and headers["original_sha256"] in originals
