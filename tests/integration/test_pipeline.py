"""The pipeline end to end on the real stack, as the acceptance of issue 4 describes it."""

from __future__ import annotations

import hashlib
import re
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest

from models.serving.registry import SHIPPED_DIR
from streaming.replay import read_documents
from tests.integration.conftest import undertow
from tests.integration.pipeline import Pipeline, fixture_texts, wait_for
from tests.models.tiny import build
from undertow.settings import Settings


@pytest.fixture
def pipeline(stack: Settings, tmp_path: Path) -> Iterator[Pipeline]:
    p = Pipeline(tmp_path)
    try:
        yield p
    finally:
        p.stop()


def valid_docs(n: int, ticker: str, start: int = 0) -> list[tuple[bytes, bytes]]:
    """N documents with unique ids, event times in the last hour, all carrying ``ticker``."""
    now = datetime.now(UTC)
    texts = fixture_texts()
    out = []
    for i in range(start, start + n):
        doc_id = f"doc-{uuid.uuid4().hex}"
        body = {
            "id": doc_id,
            "text": f"{texts[i % len(texts)]} (#{i})",
            "tickers": [ticker],
            "published_at": (now - timedelta(minutes=i % 50)).isoformat(),
        }
        out.append((doc_id.encode(), orjson.dumps(body)))
    return out


MALFORMED: dict[str, bytes | None] = {
    "invalid_json": b'{"id": "x", "text": ',
    "invalid_utf8": b'{"id": "x", "text": "caf\xe9"}',
    "not_an_object": b'["a list"]',
    "missing_text": orjson.dumps({"id": "x", "title": "no body"}),
    "empty_text": orjson.dumps({"id": "x", "text": "   "}),
    "wrong_type": orjson.dumps({"id": "x", "text": ["not", "a", "string"]}),
    "bad_timestamp": orjson.dumps({"id": "x", "text": "ok", "published_at": "yesterday-ish"}),
    # Over the pipeline's input limit (100 KB) but within what its topics take (64 KiB more).
    "oversized": orjson.dumps({"id": "x", "text": "a" * 120_000}),
    "empty_message": None,
}


def test_valid_documents_land_once_malformed_ones_in_the_dlq(pipeline: Pipeline) -> None:
    ticker = f"ZQ{uuid.uuid4().hex[:6].upper()}"
    docs = valid_docs(60, ticker)
    pipeline.start("score")
    pipeline.start("sink")
    pipeline.produce(
        [*docs[:30], *((f"bad-{k}".encode(), v) for k, v in MALFORMED.items()), *docs[30:]]
    )

    wait_for("60 documents indexed", lambda: pipeline.es_count() >= len(docs), timeout=120)
    wait_for("both groups to commit everything", pipeline.settled)
    assert pipeline.es_count() == len(docs)
    for source in pipeline.es_docs():
        assert source["sentiment"]["label"] in ("negative", "neutral", "positive")
        assert set(source["sentiment"]["probs"]) == {"negative", "neutral", "positive"}
        assert source["topic"]["label"] and source["model"]["version"]
        assert ticker in source["tickers"]
    letters = pipeline.dead_letters()
    assert sorted(h["reason"] for _, h in letters) == sorted(MALFORMED)
    limit = pipeline.settings.streaming.max_message_bytes
    for value, headers in letters:
        original = MALFORMED[headers["reason"]]
        if headers.get("truncated") == "true":  # over the limit: cut, with its size and digest
            assert original is not None and value == original[:limit]
            assert headers["original_sha256"] == hashlib.sha256(original).hexdigest()
        else:
            assert value == original  # the original bytes, unchanged
        assert headers["__connect.errors.topic"] == pipeline.settings.kafka.topics.news
    assert pipeline.trends("all")["total"] == len(docs)
    assert pipeline.trends(f"ticker:{ticker}")["total"] == len(docs)

    pipeline.produce(docs)  # the same documents again
    wait_for("the replay to be consumed", pipeline.settled)
    time.sleep(1.0)
    assert pipeline.es_count() == len(docs)
    assert pipeline.trends("all")["total"] == len(docs)
    assert pipeline.trends(f"ticker:{ticker}")["total"] == len(docs)
    assert len(pipeline.dead_letters()) == len(MALFORMED)


def test_sigkill_of_either_worker_loses_and_double_counts_nothing(pipeline: Pipeline) -> None:
    ticker = f"ZK{uuid.uuid4().hex[:6].upper()}"
    docs = valid_docs(900, ticker)
    pipeline.start("score")
    pipeline.start("sink")
    wait_for("the workers to take a first document", lambda: _first(pipeline, ticker))

    def feed() -> None:
        for i in range(0, len(docs), 30):
            pipeline.produce(docs[i : i + 30])
            time.sleep(0.1)

    producer = threading.Thread(target=feed)
    producer.start()
    time.sleep(1.5)
    pipeline.kill("score")  # SIGKILL mid-run
    pipeline.start("score")
    time.sleep(2.0)
    pipeline.kill("sink")
    pipeline.start("sink")
    producer.join()
    wait_for("both groups to commit everything", pipeline.settled, timeout=180)
    expected = len(docs) + 1
    assert pipeline.es_count() == expected, pipeline.log("sink", 4000)
    assert pipeline.trends("all")["total"] == expected
    assert pipeline.trends(f"ticker:{ticker}")["total"] == expected


def _first(pipeline: Pipeline, ticker: str) -> bool:
    if not getattr(pipeline, "_primed", False):
        body = {"id": "primer", "text": "Markets open", "tickers": [ticker]}
        pipeline.produce([(b"primer", orjson.dumps(body))])
        pipeline._primed = True  # type: ignore[attr-defined]
    return pipeline.es_count() == 1


def test_a_document_is_searchable_within_two_seconds(pipeline: Pipeline) -> None:
    pipeline.start("score")
    pipeline.start("sink")
    (warm,) = valid_docs(1, "ZWARM")
    pipeline.produce([warm])
    wait_for("the warm-up document", lambda: pipeline.es_count() == 1, timeout=120)
    time.sleep(2.0)  # idle

    doc_id = f"latency-{uuid.uuid4().hex}"
    body = {"id": doc_id, "text": "Chipmaker shares tumble after weak guidance"}
    began = time.monotonic()
    pipeline.produce([(doc_id.encode(), orjson.dumps(body))])
    pattern = f"{pipeline.settings.elasticsearch.index_prefix}-docs*"
    while time.monotonic() - began < 10:
        # What an analyst's search sees: no forced refresh.
        hits = pipeline.es.search(index=pattern, query={"term": {"id": doc_id}})["hits"]["hits"]
        if hits:
            break
        time.sleep(0.05)
    elapsed = time.monotonic() - began
    print(f"produce → searchable: {elapsed:.2f} s")
    assert elapsed <= 2.0, f"searchable after {elapsed:.2f} s"


def test_a_promoted_version_scores_new_documents_without_a_restart(
    stack: Settings, tmp_path: Path
) -> None:
    registry = tmp_path / "registry"
    build(registry / "tiny-hot", "tiny-hot")
    pipeline = Pipeline(tmp_path, {"models": {"registry_dir": str(registry), "hotswap_poll_s": 1}})
    try:
        pipeline.start("score")
        pipeline.start("sink")
        before = {"id": "before-swap", "text": "Oil prices slump on demand fears"}
        pipeline.produce([(b"before-swap", orjson.dumps(before))])
        wait_for("the first document", lambda: pipeline.es_count() == 1, timeout=120)
        (first,) = pipeline.es_docs(ids=["before-swap"])
        shipped = (SHIPPED_DIR / "CURRENT").read_text().strip()
        assert first["model"]["version"] == shipped  # the shipped default

        done = undertow(
            "--config",
            str(pipeline.config),
            "promote",
            "tiny-hot",
            "--force",
            "--reason",
            "hot swap test",
        )
        assert done.returncode == 0, done.stderr
        time.sleep(3.0)  # a few polls
        after = {"id": "after-swap", "text": "Oil prices slump on demand fears"}
        pipeline.produce([(b"after-swap", orjson.dumps(after))])
        wait_for("the second document", lambda: pipeline.es_count() == 2)
        (second,) = pipeline.es_docs(ids=["after-swap"])
        assert second["model"]["version"] == "tiny-hot"
        assert len(pipeline.procs) == 2 and all(p.poll() is None for p in pipeline.procs.values())
    finally:
        pipeline.stop()


def test_replay_of_a_dataset_csv_with_spread_event_times(pipeline: Pipeline) -> None:
    csv_file = (
        Path(__file__).resolve().parents[1]
        / "fixtures"
        / "twitter_financial_news_topic"
        / "dev.csv"
    )
    expected = len({row["text"] for row in read_documents(csv_file, limit=50)})
    pipeline.start("score")
    pipeline.start("sink")
    done = undertow(
        "--config",
        str(pipeline.config),
        "replay",
        str(csv_file),
        "--limit",
        "50",
        "--spread",
        "2h",
        "--source",
        "social",
        "--json",
    )
    assert done.returncode == 0, done.stderr
    assert orjson.loads(done.stdout.splitlines()[-1])["produced"] == 50
    wait_for("the replayed documents", lambda: pipeline.es_count() == expected, timeout=120)
    wait_for("both groups to commit everything", pipeline.settled)
    assert pipeline.trends("source:social", "3h")["total"] == expected
    recent = pipeline.trends("source:social", "30m")["total"]
    assert 0 < recent < expected  # event times spread over two hours, not all now


_ASSIGNED = re.compile(r"TopicPartition\(topic='([^']+)', partition=(\d+)\)")


def _assigned(pipeline: Pipeline, name: str) -> set[tuple[str, int]]:
    """The partitions a worker holds now, from its consumer's last assignment log line."""
    lines = [
        line for line in pipeline.log(name).splitlines() if "newly assigned partitions" in line
    ]
    return {(t, int(n)) for t, n in _ASSIGNED.findall(lines[-1])} if lines else set()


def _shared(pipeline: Pipeline) -> bool:
    a, b = _assigned(pipeline, "score-a"), _assigned(pipeline, "score-b")
    topics = pipeline.settings.kafka.topics
    everything = {(t, p) for t in (topics.news, topics.social) for p in range(3)}
    return bool(a) and bool(b) and a | b == everything and not a & b


def test_two_score_workers_share_the_partitions_and_process_everything_once(
    pipeline: Pipeline,
) -> None:
    ticker = f"ZS{uuid.uuid4().hex[:6].upper()}"
    docs = valid_docs(600, ticker)
    pipeline.start("score", "score-a")
    pipeline.start("score", "score-b")
    pipeline.start("sink")
    # Both hold input partitions, none twice, all covered.
    wait_for(
        "the two score workers to split the partitions", lambda: _shared(pipeline), timeout=120
    )
    topics = pipeline.settings.kafka.topics
    pipeline.produce(docs[:300])
    pipeline.produce(docs[300:], topic=topics.social)
    wait_for("both groups to commit everything", pipeline.settled, timeout=180)
    assert pipeline.es_count() == len(docs)
    assert pipeline.trends("all")["total"] == len(docs)
    assert pipeline.trends(f"ticker:{ticker}")["total"] == len(docs)
