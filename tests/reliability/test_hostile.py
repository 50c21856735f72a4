"""A hostile mix interleaved with valid traffic: every malformed message in the dead-letter topic
with its reason, what is legitimately valid accepted, the valid traffic unaffected."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable

import orjson

from tests.integration.pipeline import Pipeline, wait_for
from tests.integration.test_pipeline import pipeline, valid_docs  # noqa: F401 (fixture)

NESTED = b'{"id": "deep", "text": "ok", "x": ' + b"[" * 40 + b"]" * 40 + b"}"
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
        "bad_timestamp",
    ),
    "oversized text": (b"h14", orjson.dumps({"id": "h14", "text": "a" * 25_000}), "oversized_text"),
    "oversized message": (
        b"h15",
        orjson.dumps({"id": "h15", "text": "ok", "pad": "b" * 120_000}),
        "oversized",
    ),
    "tombstone": (b"h16", None, "empty_message"),
}


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
    wait_for("the accepted documents", lambda: pipeline.es_count() >= len(docs) + 4, timeout=180)
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
    by_key = {k: (v, r) for k, v, r in HOSTILE.values()}
    for value, headers in letters:
        key = next(k for k, (v, r) in by_key.items() if v == value and r == headers["reason"])
        assert key  # the original bytes, unchanged, with the reason expected for them
    (first,) = pipeline.es_docs(ids=[dup])
    assert first["text"] == "First version"
    (ctl,) = pipeline.es_docs(ids=["ok-ctl"])
    assert ctl["text"] == "Oil falls 3%"
    assert pipeline.es_docs(ids=["424242"])
    assert pipeline.trends(f"ticker:{ticker}")["total"] == expected_in
