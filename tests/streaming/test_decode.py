"""Input validation: each kind of malformed message gets its reason; valid ones become RawDocs."""

from __future__ import annotations

import contextlib
import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streaming.decode import DecodeLimits, InputSpec, decode, parse_time
from streaming.exceptions import DecodeError
from streaming.fingerprint import fingerprint

NEWS = InputSpec(source="news")
TS = 1_700_000_000_000  # a Kafka record timestamp (ms)


def _msg(**fields: object) -> bytes:
    return json.dumps(fields).encode()


def test_a_full_document() -> None:
    doc = decode(
        _msg(id="n1", text="  $AAPL beats  ", title="Apple", published_at="2024-05-02T20:30:00Z",
             url="https://x/1", tickers=["aapl", "$msft"], lang="en"),
        NEWS, timestamp_ms=TS,
    )  # fmt: skip
    assert doc.id == "n1"
    assert doc.text == "$AAPL beats"
    assert doc.source == "news"
    assert doc.published_at == datetime(2024, 5, 2, 20, 30, tzinfo=UTC)
    assert doc.tickers == ["AAPL", "MSFT"]


def test_defaults_id_from_content_and_time_from_the_record() -> None:
    a = decode(_msg(text="Fed holds rates"), NEWS, timestamp_ms=TS)
    b = decode(_msg(text="Fed holds rates"), NEWS, timestamp_ms=TS + 5)
    assert a.id == b.id and len(a.id) == 32  # a replay gets the same id
    assert a.published_at == datetime.fromtimestamp(TS / 1000, tz=UTC)
    assert decode(_msg(text="Fed holds rates", url="u2"), NEWS, timestamp_ms=TS).id != a.id


def test_field_mapping_for_a_foreign_schema() -> None:
    spec = InputSpec(
        source="social",
        fields={"text": "body.content", "id": "post_id", "published_at": "created"},
    )
    doc = decode(_msg(post_id=42, body={"content": "oil slides"}, created=1_700_000_000), spec)
    assert (doc.id, doc.text, doc.source) == ("42", "oil slides", "social")
    assert doc.published_at.year == 2023


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (b"{not json", "invalid_json"),
        (b'{"text": "caf\xe9"}', "invalid_utf8"),
        (b"[1, 2]", "not_an_object"),
        (b'"just a string"', "not_an_object"),
        (_msg(title="no text"), "missing_text"),
        (_msg(text="   "), "empty_text"),
        (_msg(text="\x00\x01\x02"), "empty_text"),
        (_msg(text=42), "wrong_type"),
        (_msg(text="ok", tickers=7), "wrong_type"),
        (_msg(text="ok", id={"a": 1}), "wrong_type"),
        (_msg(text="ok", title=["x"]), "wrong_type"),
        (_msg(text="ok", published_at="yesterday-ish"), "bad_timestamp"),
        (_msg(text="ok", published_at="1970-01-01T00:00:00Z"), "bad_timestamp"),
        (_msg(text="ok", published_at=99_999_999_999_999), "future_timestamp"),
        (_msg(text="ok", published_at=True), "bad_timestamp"),
        (_msg(text="x" * 30_000), "oversized_text"),
        (b'{"text": "deep", "x": ' + b"[" * 40 + b"]" * 40 + b"}", "too_deep"),
        (_msg(text="ok", id=""), "bad_id"),
        # 171 characters but 513 bytes: over Elasticsearch's _id limit of 512 bytes.
        (_msg(text="ok", id="€" * 171), "bad_id"),
        (None, "empty_message"),
    ],
)
def test_each_malformed_kind_has_its_reason(value: bytes | None, reason: str) -> None:
    with pytest.raises(DecodeError) as info:
        decode(value, NEWS, timestamp_ms=TS)
    assert info.value.reason == reason


@pytest.mark.parametrize(
    ("offset", "reason"),
    [
        (timedelta(minutes=6), "future_timestamp"),  # ahead of the clock by more than the skew
        (timedelta(minutes=4), None),
        (-timedelta(days=29), None),
        (-timedelta(days=31), "expired_timestamp"),  # before the indices' retention
    ],
)
def test_event_time_is_bounded_by_the_clock_skew_and_the_retention(
    offset: timedelta, reason: str | None
) -> None:
    limits = DecodeLimits(max_future=timedelta(minutes=5), max_age=timedelta(days=30))
    when = (datetime.now(UTC) + offset).isoformat()
    value = _msg(text="ok", published_at=when)
    if reason is None:
        assert decode(value, NEWS, limits=limits).published_at == datetime.fromisoformat(when)
        return
    with pytest.raises(DecodeError) as info:
        decode(value, NEWS, limits=limits)
    assert info.value.reason == reason


def test_oversized_message_is_refused_before_parsing() -> None:
    with pytest.raises(DecodeError) as info:
        decode(b" " * 2000, NEWS, limits=DecodeLimits(max_bytes=1000))
    assert info.value.reason == "oversized"


def test_legitimate_oddities_are_accepted() -> None:
    doc = decode(_msg(text="shares\x00 up\x07", unknown_field={"x": 1}, tickers="aapl, tsla"),
                 NEWS, timestamp_ms=TS)  # fmt: skip
    assert doc.text == "shares up"
    assert doc.tickers == ["AAPL", "TSLA"]


def test_epoch_seconds_and_milliseconds_agree() -> None:
    limits = DecodeLimits()
    assert parse_time(1_700_000_000, None, limits) == parse_time(1_700_000_000_000, None, limits)


def test_reposts_with_other_links_share_a_fingerprint() -> None:
    a = fingerprint("Tesla recalls 2M cars https://t.co/abc")
    b = fingerprint("TESLA recalls 2M cars!  https://t.co/xyz")
    assert a == b
    assert a != fingerprint("Tesla recalls 3M cars https://t.co/abc")


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_arbitrary_bytes_raise_only_decode_error(value: bytes) -> None:
    with contextlib.suppress(DecodeError):
        decode(value, NEWS, timestamp_ms=TS)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=10,
)


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(["id", "text", "title", "published_at", "tickers", "url", "source", "x"]),
        json_values,
    )
)
def test_arbitrary_json_objects_raise_only_decode_error(fields: dict[str, object]) -> None:
    value = json.dumps(fields, allow_nan=True).encode()
    try:
        doc = decode(value, NEWS, timestamp_ms=TS)
    except DecodeError:
        return
    assert doc.text.strip()


def test_tickers_are_symbols_each_once_and_at_most_the_limit() -> None:
    named = ["aapl", "$BRK.B", "rds-a", "7203.T", "AAPL", "<script>", "a b", "TOOLONGSYMBOL1"]
    limits = DecodeLimits(max_tickers=3)
    doc = decode(_msg(text="ok", tickers=named), NEWS, timestamp_ms=TS, limits=limits)
    assert doc.tickers == ["AAPL", "BRK.B", "RDS-A"]  # 7203.T is a symbol, over the limit
    assert doc.tickers_dropped == 4  # three that are not symbols, one over the limit


def test_a_source_undertow_does_not_know_becomes_other_and_is_kept_as_its_name() -> None:
    spec = InputSpec(source="news", sources=frozenset({"news", "social"}))
    assert decode(_msg(text="ok", source="social"), spec, timestamp_ms=TS).source == "social"
    doc = decode(_msg(text="ok", source="<img src=x onerror=alert(1)>"), spec, timestamp_ms=TS)
    assert (doc.source, doc.source_name) == ("other", "<img src=x onerror=alert(1)>")
    assert decode(_msg(text="ok"), spec, timestamp_ms=TS).source == "news"


def test_rss_times_and_a_feeds_own_formats_are_read() -> None:
    rss = decode(_msg(text="ok", published_at="Sat, 05 Dec 2026 14:30:00 +0100"), NEWS)
    assert rss.published_at == datetime(2026, 12, 5, 13, 30, tzinfo=UTC)
    own = _msg(text="ok", published_at="05/12/2026 14:30")
    with pytest.raises(DecodeError) as refused:
        decode(own, NEWS)
    assert refused.value.reason == "bad_timestamp"
    feed = InputSpec(source="news", time_formats=("%m/%d/%Y", "%d/%m/%Y %H:%M"))
    assert decode(own, feed).published_at == datetime(2026, 12, 5, 14, 30, tzinfo=UTC)
