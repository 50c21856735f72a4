"""Dead letters always fit the topic they go to, and say what they are a copy of."""

from __future__ import annotations

import hashlib

from streaming.dlq import MAX_KEY_BYTES, dead_letter, headers_of, record_limit
from streaming.messages import Envelope, OutMessage

LIMIT = 10_000


def letter(value: bytes | None, key: bytes | None = b"k") -> OutMessage:
    message = Envelope("in.news", 2, 41, key, value, None, 0.0)
    error = ValueError("x" * 5000)  # a long error message is cut, not carried whole
    return dead_letter(message, "dlq", "invalid_json", error, "VALUE_CONVERTER",
                       max_value_bytes=LIMIT)  # fmt: skip


def size(message: OutMessage) -> int:
    headers = sum(len(k) + len(v) for k, v in message.headers)
    return len(message.key or b"") + len(message.value or b"") + headers


def test_a_message_within_the_input_limit_is_carried_whole_and_fits() -> None:
    value = b"{" + b"\xe2\x82\xac" * ((LIMIT - 1) // 3)  # just under the limit, multi-byte
    out = letter(value, key=b"k" * MAX_KEY_BYTES)
    assert out.value == value and out.key == b"k" * MAX_KEY_BYTES
    assert "truncated" not in headers_of(out)
    assert size(out) <= record_limit(LIMIT)


def test_a_message_over_the_input_limit_is_cut_with_its_size_and_digest() -> None:
    value = b"z" * (5 * LIMIT)
    out = letter(value)
    headers = headers_of(out)
    assert out.value == value[:LIMIT]
    assert headers["truncated"] == "true"
    assert headers["original_bytes"] == str(5 * LIMIT)
    assert headers["original_sha256"] == hashlib.sha256(value).hexdigest()
    assert headers["reason"] == "invalid_json" and headers["__connect.errors.offset"] == "41"
    assert size(out) <= record_limit(LIMIT)


def test_a_huge_key_is_replaced_by_its_digest() -> None:
    key = b"q" * (LIMIT * 3)
    out = letter(b"{}", key=key)
    digest = hashlib.sha256(key).hexdigest()
    assert out.key == digest.encode() and headers_of(out)["original_key_sha256"] == digest
    assert size(out) <= record_limit(LIMIT)


def test_a_tombstone_stays_a_tombstone() -> None:
    out = letter(None, key=None)
    assert out.value is None and out.key is None
