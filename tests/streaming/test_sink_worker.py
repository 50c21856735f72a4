"""The sink worker's batch logic with the in-memory window store and index."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

import orjson

from streaming.dlq import headers_of
from streaming.exceptions import RefusedDocuments
from streaming.messages import Envelope, MemoryProducer
from streaming.records import ScoredDoc
from streaming.sink_worker import SinkWorker
from streaming.window_store import MemoryWindowStore
from tests.streaming.factories import scored

DLQ = "out.dlq"


class ListIndex:
    """Keeps documents by id; refuses the ids it is told to."""

    def __init__(self, refuse: set[str] | None = None) -> None:
        self.docs: dict[str, ScoredDoc] = {}
        self.refuse = refuse or set()

    def write(self, docs: Sequence[ScoredDoc]) -> None:
        refused = {d.id: "mapper_parsing_exception" for d in docs if d.id in self.refuse}
        self.docs.update({d.id: d for d in docs if d.id not in refused})
        if refused:
            raise RefusedDocuments(refused)


def env(value: bytes, acked: list[int], offset: int) -> Envelope:
    return Envelope("scored", 0, offset, None, value, None, 0.0, lambda: acked.append(offset))


def envs(docs: list[ScoredDoc], acked: list[int]) -> list[Envelope]:
    return [env(orjson.dumps(d.model_dump(mode="json")), acked, i) for i, d in enumerate(docs)]


def test_a_batch_lands_in_both_sinks_once_and_is_acked() -> None:
    store, index, acked = MemoryWindowStore(), ListIndex(), list[int]()
    docs = [scored(tickers=("ONLYHERE",)) for _ in range(5)]
    worker = SinkWorker(store, index, MemoryProducer(), dlq_topic=DLQ, max_value_bytes=100_000)
    asyncio.run(worker.handle(envs(docs, acked)))
    asyncio.run(worker.handle(envs(docs, acked)))  # redelivered: nothing changes
    assert set(index.docs) == {d.id for d in docs}
    now = time.time()
    assert store.window("all", now, 600).stats.total == 5
    assert store.window("ticker:ONLYHERE", now, 600).stats.negative == 5
    assert sorted(acked) == sorted([0, 1, 2, 3, 4] * 2)


def test_records_that_are_not_scored_documents_and_refused_ones_go_to_the_dlq() -> None:
    good, refused = scored(), scored()
    producer, acked = MemoryProducer(), list[int]()
    index = ListIndex(refuse={refused.id})
    batch = [*envs([good, refused], acked), env(b'{"id": "x"}', acked, 7)]
    worker = SinkWorker(
        MemoryWindowStore(), index, producer, dlq_topic=DLQ, max_value_bytes=100_000
    )
    asyncio.run(worker.handle(batch))
    reasons = sorted(headers_of(m)["reason"] for m in producer.on(DLQ))
    assert reasons == ["invalid_scored", "refused_by_elasticsearch"]
    assert set(index.docs) == {good.id}
    assert sorted(acked) == [0, 1, 7]
