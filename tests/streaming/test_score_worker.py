"""The score worker's batch logic, with the tiny model, an in-memory producer and deduper."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import math
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from functools import partial

import orjson
import pytest
from aiokafka.errors import MessageSizeTooLargeError, RequestTimedOutError

from models.serving.entities import WatchedLinker
from models.serving.scorer import Score, Scorer
from streaming.decode import DecodeLimits, InputSpec
from streaming.dedupe import MemoryDeduper
from streaming.dlq import headers_of
from streaming.messages import Envelope, MemoryProducer, OutMessage
from streaming.records import ScoredDoc
from streaming.score_worker import Linking, ScoreWorker
from streaming.stories import MemoryStories
from streaming.window_store import Countable

NEWS, SCORED, DLQ = "in.news", "out.scored", "out.dlq"


def env(value: bytes | None, offset: int = 0, topic: str = NEWS) -> Envelope:
    return Envelope(topic, 1, offset, b"k", value, 1_700_000_000_000, 0.0)


def doc(doc_id: str, text: str, **extra: object) -> bytes:
    return orjson.dumps({"id": doc_id, "body": {"text": text}, **extra})


def make(scorer: Scorer, producer: MemoryProducer | None = None) -> ScoreWorker:
    return ScoreWorker(
        scorer,
        MemoryDeduper(),
        producer or MemoryProducer(),
        specs={NEWS: InputSpec(source="news", fields={"text": "body.text"})},
        scored_topic=SCORED,
        dlq_topic=DLQ,
    )


def scored_of(producer: MemoryProducer) -> list[ScoredDoc]:
    return [ScoredDoc.model_validate(orjson.loads(m.value or b"")) for m in producer.on(SCORED)]


def test_valid_documents_are_scored_stamped_and_keyed_by_id(tiny_scorer: Scorer) -> None:
    producer = MemoryProducer()
    worker = make(tiny_scorer, producer)
    batch = [
        env(orjson.dumps({"id": "a", "body": {"text": "shares slump after awful quarter $ACME"}})),
        env(
            orjson.dumps({"id": "b", "body": {"text": "great earnings beats"}, "tickers": ["XYZ"]})
        ),
    ]
    asyncio.run(worker.handle(batch))
    out = {d.id: d for d in scored_of(producer)}
    assert out["a"].sentiment.label == "negative" and out["a"].sentiment.score < 0
    assert out["a"].tickers == ["ACME"]
    assert out["b"].sentiment.label == "positive" and out["b"].topic.label == "Earnings"
    assert out["b"].tickers == ["XYZ"]
    assert out["a"].model.version == "tiny-1" and out["a"].source == "news"
    assert out["a"].published_at == datetime.fromtimestamp(1_700_000_000, UTC)
    assert out["a"].latency_ms >= 0 and out["a"].fingerprint
    assert [m.key for m in producer.on(SCORED)] == [b"a", b"b"]


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (b"\xff\xfe not utf-8", "invalid_utf8"),
        (b"{not json", "invalid_json"),
        (b"[1, 2]", "not_an_object"),
        (orjson.dumps({"id": "x", "body": {}}), "missing_text"),
        (orjson.dumps({"id": "x", "body": {"text": "  "}}), "empty_text"),
        (orjson.dumps({"id": "x", "body": {"text": 5}}), "wrong_type"),
        (
            orjson.dumps({"id": "x", "body": {"text": "ok"}, "published_at": "soon"}),
            "bad_timestamp",
        ),
        (None, "empty_message"),
    ],
)
def test_malformed_input_goes_to_the_dlq_unchanged_with_reason_and_origin(
    tiny_scorer: Scorer, value: bytes | None, reason: str
) -> None:
    producer = MemoryProducer()
    acked: list[int] = []
    bad = env(value, offset=41)
    bad.ack = lambda: acked.append(41)
    good = env(orjson.dumps({"id": "g", "body": {"text": "oil steady"}}), offset=42)
    good.ack = lambda: acked.append(42)
    asyncio.run(make(tiny_scorer, producer).handle([bad, good]))
    (letter,) = producer.on(DLQ)
    assert letter.value == value and letter.key == b"k"
    headers = headers_of(letter)
    assert headers["reason"] == reason
    assert headers["__connect.errors.topic"] == NEWS
    assert headers["__connect.errors.partition"] == "1"
    assert headers["__connect.errors.offset"] == "41"
    assert headers["__connect.errors.exception.class.name"] == "DecodeError"
    assert [d.id for d in scored_of(producer)] == ["g"]  # the worker kept going
    assert sorted(acked) == [41, 42]


def test_an_id_is_scored_once_even_when_replayed(tiny_scorer: Scorer) -> None:
    producer = MemoryProducer()
    worker = make(tiny_scorer, producer)
    first = [env(doc("same", "oil slump")), env(doc("same", "oil slump")), env(doc("o", "fed"))]
    asyncio.run(worker.handle(first))
    asyncio.run(worker.handle([env(doc("same", "oil slump"))]))
    assert sorted(d.id for d in scored_of(producer)) == ["o", "same"]
    assert worker.counters.skipped_seen == 2


def test_reposts_with_other_links_are_marked_duplicate_of_the_first(tiny_scorer: Scorer) -> None:
    producer = MemoryProducer()
    batch = [
        env(doc("first", "Oil slump today https://t.co/AAA")),
        env(doc("repost", "oil  slump today! https://t.co/BBB")),
        env(doc("other", "fed rates steady")),
    ]
    asyncio.run(make(tiny_scorer, producer).handle(batch))
    out = {d.id: d for d in scored_of(producer)}
    assert out["first"].duplicate_of is None
    assert out["repost"].duplicate_of == "first"
    assert out["repost"].fingerprint == out["first"].fingerprint
    assert out["other"].duplicate_of is None


class FailingProducer:
    async def send_many(self, messages: Sequence[OutMessage]) -> None:
        raise ConnectionError("broker gone")


def test_nothing_is_acked_or_remembered_when_producing_fails(tiny_scorer: Scorer) -> None:
    acked: list[str] = []
    message = env(doc("a", "great quarter"))
    message.ack = lambda: acked.append("a")
    deduper = MemoryDeduper()
    worker = ScoreWorker(
        tiny_scorer, deduper, FailingProducer(), specs={}, scored_topic=SCORED, dlq_topic=DLQ
    )
    with pytest.raises(ConnectionError):
        asyncio.run(worker.handle([message]))
    assert acked == []
    assert deduper.seen(["a"]) == set()  # it will be scored again when redelivered


@pytest.mark.parametrize("mask", [False, True])
def test_contact_details_are_masked_before_indexing_only_when_asked(
    tiny_scorer: Scorer, mask: bool
) -> None:
    producer = MemoryProducer()
    worker = ScoreWorker(
        tiny_scorer,
        MemoryDeduper(),
        producer,
        specs={NEWS: InputSpec(source="news", fields={"text": "body.text"})},
        scored_topic=SCORED,
        dlq_topic=DLQ,
        mask=mask,
    )
    text = "Shares slump; IR at ir@acme.com or +1 415 555 2671"
    asyncio.run(worker.handle([env(doc("m", text, title="Mail ceo@acme.com"))]))
    (out,) = scored_of(producer)
    if mask:
        assert out.text == "Shares slump; IR at [email] or [phone]"
        assert out.title == "Mail [email]"
    else:
        assert out.text == text and out.title == "Mail ceo@acme.com"


class SlowFirstScorer:
    """Scores the first batch it is given slowly, so a later batch finishes scoring first."""

    def __init__(self, scorer: Scorer) -> None:
        self.scorer, self.calls = scorer, 0

    def score(self, texts: Sequence[str]) -> list[Score]:
        self.calls += 1
        if self.calls == 1:
            time.sleep(0.2)
        return self.scorer.score(texts)


def _record_acks(messages: list[Envelope], acked: list[int]) -> None:
    for message in messages:
        message.ack = partial(acked.append, message.offset)


def _overlapping(worker: ScoreWorker, first: list[Envelope], second: list[Envelope]) -> None:
    async def both() -> None:
        worker.executor = ThreadPoolExecutor(2)  # let the two inferences really overlap
        await asyncio.gather(worker.handle(first), worker.handle(second), return_exceptions=True)

    asyncio.run(both())


def test_overlapping_batches_are_delivered_and_acked_in_batch_order(tiny_scorer: Scorer) -> None:
    acked: list[int] = []
    first = [env(doc(f"a{i}", "great quarter"), offset=i) for i in range(3)]
    second = [env(doc(f"b{i}", "awful slump"), offset=3 + i) for i in range(3)]
    _record_acks(first + second, acked)
    producer = MemoryProducer()
    worker = make(SlowFirstScorer(tiny_scorer), producer)  # type: ignore[arg-type]
    _overlapping(worker, first, second)
    assert [d.id for d in scored_of(producer)] == ["a0", "a1", "a2", "b0", "b1", "b2"]
    assert acked == list(range(6))


def test_after_a_failed_batch_no_later_batch_is_acked(tiny_scorer: Scorer) -> None:
    acked: list[int] = []
    first = [env(doc("a", "great quarter"), offset=0)]
    second = [env(doc("b", "awful slump"), offset=1)]
    _record_acks(first + second, acked)

    class FailsOnce(MemoryProducer):
        async def send_many(self, messages: Sequence[OutMessage]) -> None:
            if not self.sent and messages[0].key == b"a":
                self.sent.append(messages[0])
                raise ConnectionError("broker gone")
            await super().send_many(messages)

    producer = FailsOnce()
    _overlapping(make(SlowFirstScorer(tiny_scorer), producer), first, second)  # type: ignore[arg-type]
    # Faust commits the first unbroken run of acked offsets: acking 1 alone would skip 0.
    assert acked == []
    assert [m.key for m in producer.sent] == [b"a"]  # b was never produced either


class PoisonScorer:
    """Fails any call that holds a text with ``poison`` in it; NaN for ``nan``; counts calls."""

    def __init__(self, scorer: Scorer, fail_first: int = 0) -> None:
        self.scorer, self.calls, self.fail_first = scorer, 0, fail_first

    def score(self, texts: Sequence[str]) -> list[Score]:
        self.calls += 1
        if self.calls <= self.fail_first:
            raise RuntimeError("device busy")
        if any("poison" in t for t in texts):
            raise ValueError("the tokenizer choked")
        scores = self.scorer.score(texts)
        return [
            dataclasses.replace(s, sentiment_score=math.nan) if "nan" in t else s
            for s, t in zip(scores, texts, strict=True)
        ]


def test_a_document_that_cannot_be_scored_fails_alone_with_its_reason(
    tiny_scorer: Scorer,
) -> None:
    producer = MemoryProducer()
    texts = ["great quarter", "poison pill", "awful slump", "nan figures", "record profit"]
    batch = [env(doc(f"d{i}", t), offset=i) for i, t in enumerate(texts)]
    acked: list[int] = []
    _record_acks(batch, acked)
    outcome = asyncio.run(make(PoisonScorer(tiny_scorer), producer).handle(batch))  # type: ignore[arg-type]
    assert sorted(d.id for d in scored_of(producer)) == ["d0", "d2", "d4"]
    dead = {headers_of(m)["__connect.errors.offset"]: headers_of(m) for m in producer.on(DLQ)}
    assert set(dead) == {"1", "3"}
    assert {h["reason"] for h in dead.values()} == {"scoring_failed"}
    assert "tokenizer choked" in dead["1"]["__connect.errors.exception.message"]
    assert "non-finite" in dead["3"]["__connect.errors.exception.message"]
    assert (outcome.done, outcome.dead_lettered) == (3, 2)
    assert sorted(acked) == list(range(5))  # nothing is consumed again


def test_a_batch_that_fails_once_is_tried_again_whole(tiny_scorer: Scorer) -> None:
    producer = MemoryProducer()
    scorer = PoisonScorer(tiny_scorer, fail_first=1)
    batch = [env(doc(f"d{i}", "great quarter"), offset=i) for i in range(4)]
    asyncio.run(make(scorer, producer).handle(batch))  # type: ignore[arg-type]
    assert len(scored_of(producer)) == 4 and producer.on(DLQ) == []
    assert scorer.calls == 2  # one failure, then the whole batch again; not split


def test_a_produce_that_kafka_calls_retriable_is_retried_not_raised(tiny_scorer: Scorer) -> None:
    class BrokerBlips(MemoryProducer):
        def __init__(self) -> None:
            super().__init__()
            self.failures = 2

        async def send_many(self, messages: Sequence[OutMessage]) -> None:
            if self.failures:
                self.failures -= 1
                raise RequestTimedOutError()
            await super().send_many(messages)

    producer = BrokerBlips()
    message = env(doc("a", "great quarter"))
    acked: list[int] = []
    _record_acks([message], acked)
    worker = make(tiny_scorer, producer)
    worker.max_backoff_s = 0.01
    asyncio.run(worker.handle([message]))
    assert [d.id for d in scored_of(producer)] == ["a"] and acked == [0]


def test_a_scored_record_over_the_limit_is_dead_lettered_not_produced(
    tiny_scorer: Scorer,
) -> None:
    producer = MemoryProducer()
    worker = make(tiny_scorer, producer)
    worker.limits = DecodeLimits(max_bytes=4096, max_text_chars=3000)
    # Each field is within the text limit; all of them together are not within the record's.
    fields = {n: "x" * 850 for n in ("title", "url", "author")}
    value = doc("big", "y" * 1250, **fields)
    assert len(value) < 4096  # the input is within its limit
    asyncio.run(worker.handle([env(value)]))
    assert scored_of(producer) == []
    (letter,) = producer.on(DLQ)
    assert headers_of(letter)["reason"] == "oversized_scored"


def test_cashtags_in_the_text_count_toward_the_ticker_limit(tiny_scorer: Scorer) -> None:
    producer = MemoryProducer()
    worker = make(tiny_scorer, producer)
    worker.limits = DecodeLimits(max_tickers=20)
    text = " ".join(f"$T{i:03d}" for i in range(3000))  # a page of scraped cashtags
    asyncio.run(worker.handle([env(doc("spam", text, tickers=["ACME"]))]))
    (out,) = scored_of(producer)
    assert out.tickers[0] == "ACME" and len(out.tickers) == 20
    assert out.tickers_dropped == 2981


def test_a_dead_letter_too_large_for_its_topic_goes_as_headers_and_digest(
    tiny_scorer: Scorer,
) -> None:
    class SmallDeadLetterTopic(MemoryProducer):
        """A dead-letter topic set to take 1 KB at most, by hand, below what undertow sized."""

        async def send_many(self, messages: Sequence[OutMessage]) -> None:
            if any(m.topic == DLQ and len(m.value or b"") > 1024 for m in messages):
                raise MessageSizeTooLargeError()
            await super().send_many(messages)

    producer = SmallDeadLetterTopic()
    broken = b'{"id": "big", "text": "' + b"x" * 5000  # invalid JSON, 5 KB
    batch = [env(broken, offset=0), env(doc("ok", "great quarter"), offset=1)]
    acked: list[int] = []
    _record_acks(batch, acked)
    asyncio.run(make(tiny_scorer, producer).handle(batch))
    (letter,) = producer.on(DLQ)
    headers = headers_of(letter)
    assert letter.value == b"" and headers["value_dropped"] == "true"
    assert headers["original_bytes"] == "5023" and headers["reason"] == "invalid_json"
    assert headers["original_sha256"] == hashlib.sha256(broken).hexdigest()
    assert [d.id for d in scored_of(producer)] == ["ok"] and sorted(acked) == [0, 1]


def test_a_dead_letter_topic_refusing_everything_does_not_stop_the_batch(
    tiny_scorer: Scorer, caplog: pytest.LogCaptureFixture
) -> None:
    class NoDeadLetters(MemoryProducer):
        async def send_many(self, messages: Sequence[OutMessage]) -> None:
            if any(m.topic == DLQ for m in messages):
                raise MessageSizeTooLargeError()
            await super().send_many(messages)

    producer = NoDeadLetters()
    batch = [env(b"{broken", offset=7), env(doc("ok", "great quarter"), offset=8)]
    acked: list[int] = []
    _record_acks(batch, acked)
    asyncio.run(make(tiny_scorer, producer).handle(batch))
    assert [d.id for d in scored_of(producer)] == ["ok"] and sorted(acked) == [7, 8]
    refused = [r for r in caplog.records if "refuses even a letter" in r.getMessage()]
    assert refused and "'__connect.errors.offset': '7'" in refused[0].getMessage()


def test_a_headline_naming_a_company_without_a_cashtag_reaches_its_ticker(
    tiny_scorer: Scorer,
) -> None:
    producer = MemoryProducer()
    worker = make(tiny_scorer, producer)
    worker.linking = Linking(WatchedLinker(None), min_relevance=0.6)
    batch = [
        env(doc("t", "Tesco share price down as grocer faces SFO investigation"), offset=1),
        env(
            doc(
                "c",
                "Markets mixed. Later, Unilever said it would review brands $ACME",
                tickers=["XYZ"],
            ),
            offset=2,
        ),
    ]
    asyncio.run(worker.handle(batch))
    out = {d.id: d for d in scored_of(producer)}
    assert out["t"].tickers == ["TSCO"]
    [tesco] = out["t"].entities
    assert (tesco.ticker, tesco.name, tesco.matched, tesco.where) == ("TSCO", "Tesco", "Tesco",
                                                                      "lead")  # fmt: skip
    assert tesco.isin == "GB0008847096" and tesco.relevance == 0.8
    # The feed's tickers and cashtags first; a company named further on only in entities.
    assert out["c"].tickers == ["XYZ", "ACME"]
    assert [(e.ticker, e.relevance) for e in out["c"].entities] == [("UL", 0.5)]


def test_near_duplicates_share_the_first_documents_story(tiny_scorer: Scorer) -> None:
    producer = MemoryProducer()
    worker = make(tiny_scorer, producer)
    worker.stories = MemoryStories(similarity=0.6)
    story = "Glencore profit falls as coal prices slide from last year's record highs"
    asyncio.run(worker.handle([env(doc("o", story), 1), env(doc("x", "Fed holds rates"), 2)]))
    asyncio.run(worker.handle([env(doc("r", f"BREAKING: {story} - wires"), 3)]))
    out = {d.id: d for d in scored_of(producer)}
    assert (out["o"].story_id, out["x"].story_id, out["r"].story_id) == ("o", "x", "o")
    assert out["r"].duplicate_of == "o"  # not an exact repost, but the same story
    # The windows count one unique document per story: they count by the story's key.
    keys = {i: Countable.of(d).fingerprint for i, d in out.items()}
    assert keys["o"] == keys["r"] != keys["x"]
