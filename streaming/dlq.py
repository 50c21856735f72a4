"""Dead letters, following Kafka Connect's convention: the original bytes as the value, why and
from where in the headers (``reason`` plus Connect's ``__connect.errors.*`` names, so tools that
read Connect's dead-letter queues read ours).

Sizes fit together so that a dead letter can always be produced (see the README, "Size
limits"): the producer and the topics the workers write are sized ``HEADROOM_BYTES`` above the
input limit (``record_limit``), so the dead letter of any message the workers accept, headers
included, fits whole. A message larger than the input limit (a topic whose broker allows more)
is carried truncated to the input limit, with its original size and SHA-256 in the headers; a
key over ``MAX_KEY_BYTES`` is replaced by its SHA-256 the same way. Should the dead-letter topic
still refuse a letter (its limit set lower by hand), the letter goes again without its value
(``without_value``; see streaming.produce).
"""

from __future__ import annotations

import hashlib

from streaming.messages import Envelope, OutMessage

REASON = "reason"
ORIGINAL_BYTES = "original_bytes"
ORIGINAL_SHA256 = "original_sha256"
TRUNCATED = "truncated"
VALUE_DROPPED = "value_dropped"
ORIGINAL_KEY_SHA256 = "original_key_sha256"
# The original record's Kafka timestamp (ms): a redriven letter keeps its event time.
ORIGINAL_TIMESTAMP = "original_timestamp"
# On a redriven message: the dead letter it came from (``<dlq topic>/<partition>/<offset>``).
REDRIVEN_FROM = "redriven_from"
_CONNECT = "__connect.errors."
STAGE_DECODE = "VALUE_CONVERTER"
STAGE_TRANSFORM = "TRANSFORMATION"
STAGE_SINK = "TASK_PUT"
# Room above the input limit for the key, the headers and the record's own framing.
HEADROOM_BYTES = 64 * 1024
MAX_KEY_BYTES = 1024
_MAX_ERROR_CHARS = 1000


def record_limit(max_message_bytes: int) -> int:
    """The largest record the workers produce: the producer's request limit and the
    ``max.message.bytes`` of the topics they write (scored, dead letters)."""
    return max_message_bytes + HEADROOM_BYTES


def dead_letter(
    envelope: Envelope,
    dlq_topic: str,
    reason: str,
    error: BaseException | str,
    stage: str,
    *,
    max_value_bytes: int,
) -> OutMessage:
    """The dead letter for ``envelope``: its key and value (cut to ``max_value_bytes`` if
    longer), the reason and origin in headers."""
    error_class = error if isinstance(error, str) else type(error).__name__
    headers = {
        REASON: reason,
        f"{_CONNECT}topic": envelope.topic,
        f"{_CONNECT}partition": str(envelope.partition),
        f"{_CONNECT}offset": str(envelope.offset),
        f"{_CONNECT}stage": stage,
        f"{_CONNECT}exception.class.name": error_class[:200],
        f"{_CONNECT}exception.message": str(error)[:_MAX_ERROR_CHARS],
    }
    if envelope.timestamp_ms is not None:
        headers[ORIGINAL_TIMESTAMP] = str(envelope.timestamp_ms)
    for name, raw in envelope.headers:
        if name == REDRIVEN_FROM:  # dead-lettered again after a redrive: say which letter
            headers[REDRIVEN_FROM] = raw.decode("utf-8", "replace")[:200]
    value = envelope.value
    if value is not None and len(value) > max_value_bytes:
        headers[ORIGINAL_BYTES] = str(len(value))
        headers[ORIGINAL_SHA256] = hashlib.sha256(value).hexdigest()
        headers[TRUNCATED] = "true"
        value = value[:max_value_bytes]
    key = envelope.key
    if key is not None and len(key) > MAX_KEY_BYTES:
        digest = hashlib.sha256(key).hexdigest()
        headers[ORIGINAL_KEY_SHA256] = digest
        key = digest.encode("ascii")
    return OutMessage(dlq_topic, key, value, _encoded(headers))


def without_value(letter: OutMessage) -> OutMessage:
    """``letter`` with its value dropped and the value's size and SHA-256 in its headers (for a
    dead-letter topic set smaller than the letter)."""
    value = letter.value or b""
    headers = dict(headers_of(letter))
    headers.setdefault(ORIGINAL_BYTES, str(len(value)))
    headers.setdefault(ORIGINAL_SHA256, hashlib.sha256(value).hexdigest())
    headers[VALUE_DROPPED] = "true"
    return OutMessage(letter.topic, letter.key, b"", _encoded(headers))


def _encoded(headers: dict[str, str]) -> tuple[tuple[str, bytes], ...]:
    return tuple((k, v.encode("utf-8")) for k, v in headers.items())


def headers_of(message: OutMessage) -> dict[str, str]:
    """The headers of a produced message as text."""
    return {k: v.decode("utf-8", "replace") for k, v in message.headers}
