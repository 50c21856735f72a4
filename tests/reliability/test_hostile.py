"""A hostile mix interleaved with valid traffic: every malformed message in the dead-letter topic
with its reason (and its bytes, or a cut copy with the original's size and digest), what is
legitimately valid accepted within its bounds, the valid traffic unaffected."""

from __future__ import annotations

import hashlib
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import orjson

from streaming.records import ScoredDoc
from tests.integration.pipeline import Pipeline, wait_for
from tests.integration.test_pipeline import pipeline, valid_docs  # noqa: F401 (fixture)

NESTED = b'{"id": "deep", "text": "ok", "x": ' + b"[" * 40 + b"]" * 40 + b"}"
LIMIT = 100_000  # the test pipeline's streaming.max_message_bytes


def _at(offset: timedelta) -> str:
    return (datetime.now(UTC) + offset).isoformat()


# kind → (key, value, the dead-letter reason)
HOSTILE: dict[str, tuple[bytes, bytes | None, str]] = {
    "truncated JSON": (b"h1", b'{"id": "h1", "text": "Oil', "invalid_json"),
    "not JSON at all": (b"h2", b"GET / HTTP/1.1", "invalid_json"),
    "invalid UTF-8": (b"h3", b'{"id": "h3", "text": "\xff\xfe bad"}', "invalid_utf8"),
    "a JSON array": (b"h4", b'["Oil falls", "h4"]', "not_an_object"),
    "deeply nested JSON": (b"h5", NESTED, "too_deep"),
    "no text": (b"h6", b'{"id": "h6", "title": "only a title"}', "missing_text"),
    "blank text": (b"h7", b'{"id": "h7", "text": "  \\u0000\\u0007  "}', "empty_text"),
    "text is a number": (b"h8", b'{"id": "h8", "text": 42}', "wrong_type"),
    "tickers is a number": (b"h9", b'{"id": "h9", "text": "ok", "tickers": 5}', "wrong_type"),
    "id is an object": (b"h10", b'{"id": {"a": 1}, "text": "ok"}', "wrong_type"),
    "id too long": (b"h11", orjson.dumps({"id": "x" * 300, "text": "ok"}), "bad_id"),
    "garbage timestamp": (
        b"h12",
        b'{"id": "h12", "text": "ok", "published_at": "yesterday-ish"}',
        "bad_timestamp",
    ),
    "absurd timestamp": (
        b"h13",
        b'{"id": "h13", "text": "ok", "published_at": "9999-12-31T00:00:00Z"}',
        "future_timestamp",
    ),
    "oversized text": (b"h14", orjson.dumps({"id": "h14", "text": "a" * 25_000}), "oversized_text"),
    "oversized message": (
        b"h15",
        orjson.dumps({"id": "h15", "text": "ok", "pad": "b" * 120_000}),
        "oversized",
    ),
    "tombstone": (b"h16", None, "empty_message"),
    # 171 characters, 513 bytes: over Elasticsearch's _id limit, which counts bytes.
    "multi-byte id": (b"h17", orjson.dumps({"id": "€" * 171, "text": "ok"}), "bad_id"),
    # Just under the input limit: its dead letter, headers and all, still fits its topic.
    "broken, just under the limit": (
        b"h18", b'{"id": "h18", "text": "' + b"x" * (LIMIT - 100), "invalid_json"),
    # Over the input limit (the topic takes it) and with a 20 KB key: cut to the limit, the key
    # replaced by its digest.
    "oversized, with a huge key": (
        b"k" * 20_000, orjson.dumps({"id": "h19", "text": "ok", "pad": "c" * 120_000}),
        "oversized"),
    "dated ahead of the clock": (
        b"h20", orjson.dumps({"id": "h20", "text": "ok", "published_at": _at(timedelta(hours=1))}),
        "future_timestamp"),
    "dated before the retention": (
        b"h21", orjson.dumps({"id": "h21", "text": "ok", "published_at": _at(-timedelta(days=40))}),
        "expired_timestamp"),
    # Each field within its limit, but a keyword over Elasticsearch's 32,766 bytes: refused by
    # Elasticsearch for this document only, dead-lettered by the sink with its reason.
    "immense url": (b"h22", orjson.dumps({"id": "h22", "text": "ok", "url": "€" * 11_000}),
                    "refused_by_elasticsearch"),
}  # fmt: skip


def test_hostile_messages_are_dead_lettered_or_accepted_and_valid_traffic_is_untouched(
    pipeline: Pipeline,  # noqa: F811
    figure: Callable[[str], None],
) -> None:
    ticker = f"ZH{uuid.uuid4().hex[:6].upper()}"
    docs = valid_docs(1000, ticker)
    dup = f"dup-{uuid.uuid4().hex}"
    accepted = [
        # Control characters are removed, unknown fields kept out of the mapping, an integer id
        # is an id: all valid.
        (
            b"ok-ctl",
            orjson.dumps({"id": "ok-ctl", "text": "Oil\x07 falls\x1b 3%", "tickers": [ticker]}),
        ),
        (
            b"ok-unknown",
            orjson.dumps(
                {
                    "id": "ok-unknown",
                    "text": "Fed holds",
                    "tickers": [ticker],
                    "extra": {"a": [1, 2]},
                }
            ),
        ),
        (b"424242", orjson.dumps({"id": 424242, "text": "Bank beats", "tickers": [ticker]})),
        # 5,000 tickers scraped from a page: the first 20 kept, the cut recorded.
        (
            b"ok-tickers",
            orjson.dumps(
                {
                    "id": "ok-tickers",
                    "text": "Index moves",
                    "tickers": [ticker] + [f"Z{i:04d}" for i in range(4999)],
                }
            ),
        ),
        # A source of its own choosing, with markup: "other", its claim kept as source_name.
        (
            b"ok-source",
            orjson.dumps(
                {
                    "id": "ok-source",
                    "text": "Rumour",
                    "tickers": [ticker],
                    "source": "<img src=x onerror=alert(1)>",
                }
            ),
        ),
        # Late but within the indices' retention: indexed, not counted (windows keep 48 h).
        (
            b"ok-late",
            orjson.dumps(
                {
                    "id": "ok-late",
                    "text": "Old news",
                    "tickers": [ticker],
                    "published_at": _at(-timedelta(days=5)),
                }
            ),
        ),
        # The same id twice with different text: the first is the document, the second a repeat.
        (dup.encode(), orjson.dumps({"id": dup, "text": "First version", "tickers": [ticker]})),
    ]
    repeat = (
        dup.encode(),
        orjson.dumps({"id": dup, "text": "Second version", "tickers": [ticker]}),
    )
    pipeline.start("score")
    pipeline.start("sink")
    hostile = [(k, v) for k, v, _ in HOSTILE.values()]
    mixed: list[tuple[bytes, bytes | None]] = []
    for i, doc in enumerate(docs):  # a bad message every ~60 good ones
        mixed.append(doc)
        if i % 60 == 30 and hostile:
            mixed.append(hostile.pop())
        if i == 500:
            mixed += accepted
    mixed += hostile
    pipeline.produce(mixed)
    wait_for("the accepted documents", lambda: pipeline.es_count() >= len(docs) + len(accepted),
             timeout=180)  # fmt: skip
    pipeline.produce([repeat])
    wait_for("both groups to commit everything", pipeline.settled, timeout=180)

    expected_in = len(docs) + len(accepted)
    indexed = pipeline.es_count()
    letters = pipeline.dead_letters()
    figure(
        f"hostile mix: in {len(mixed) + 1}, valid {expected_in}, indexed {indexed}, "
        f"dead-lettered {len(letters)} ({len(HOSTILE)} kinds), "
        f"lost {max(0, expected_in - indexed)}, duplicated {max(0, indexed - expected_in)}"
    )
    assert indexed == expected_in
    assert Counter(h["reason"] for _, h in letters) == Counter(r for _, _, r in HOSTILE.values())
    for value, headers in letters:
        assert _original(value, headers) in HOSTILE.values(), headers
    (first,) = pipeline.es_docs(ids=[dup])
    assert first["text"] == "First version"
    (ctl,) = pipeline.es_docs(ids=["ok-ctl"])
    assert ctl["text"] == "Oil falls 3%"
    assert pipeline.es_docs(ids=["424242"])
    (cut,) = pipeline.es_docs(ids=["ok-tickers"])
    assert len(cut["tickers"]) == 20 and cut["tickers"][0] == ticker
    assert cut["tickers_dropped"] == 4980
    (claimed,) = pipeline.es_docs(ids=["ok-source"])
    assert (claimed["source"], claimed["source_name"]) == ("other", "<img src=x onerror=alert(1)>")
    # Everything valid is counted but the late document.
    assert pipeline.trends(f"ticker:{ticker}")["total"] == expected_in - 1


def _original(value: bytes | None, headers: dict[str, str]) -> tuple[bytes, bytes | None, str]:
    """The hostile (key, value, reason) a dead letter stands for, from what it carries: the
    original bytes; a cut copy with the original's size and digest; the scored record."""
    reason = headers["reason"]
    for key, original, expected in HOSTILE.values():
        if expected != reason:
            continue
        if "original_key_sha256" in headers and (
            headers["original_key_sha256"] != hashlib.sha256(key).hexdigest()
        ):
            continue
        if headers.get("truncated") == "true" and original is not None:
            if (
                value == original[:LIMIT]
                and headers["original_bytes"] == str(len(original))
                and headers["original_sha256"] == hashlib.sha256(original).hexdigest()
            ):
                return key, original, expected
        elif reason == "refused_by_elasticsearch":
            doc = ScoredDoc.model_validate(orjson.loads(value or b""))
            if orjson.loads(original or b"")["id"] == doc.id:
                assert (
                    "failed to parse field [url]" in headers["__connect.errors.exception.message"]
                )
                return key, original, expected
        elif value == original:
            return key, original, expected
    raise AssertionError(f"a dead letter that stands for no hostile message: {headers}")
