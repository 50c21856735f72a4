"""Input bytes → RawDoc, or a DecodeError whose ``reason`` the dead-letter headers carry.

Pure: no I/O. The reasons are a small fixed vocabulary so operators can count and alert on them.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import orjson

from streaming.exceptions import DecodeError
from streaming.records import RawDoc

# Control characters other than tab, newline and carriage return carry no meaning in text.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_EARLIEST = datetime(1990, 1, 1, tzinfo=UTC)
_OPTIONAL_STRINGS = ("title", "source_name", "url", "author", "lang")
# Well under Elasticsearch's 512-byte _id, counted in bytes as it counts them.
MAX_ID_BYTES = 256
# A symbol: letters and digits, with an exchange or class suffix after "." or "-" (BRK.B,
# RDS-A, 7203.T); anything else a feed calls a ticker is dropped and counted.
TICKER = re.compile(r"^[A-Z0-9]{1,10}(?:[.-][A-Z0-9]{1,4})?$")
# The source of a document whose feed names one undertow does not know (no new scopes from it).
OTHER_SOURCE = "other"


@dataclass(frozen=True)
class DecodeLimits:
    """Bounds on what a message may be."""

    max_bytes: int = 1_000_000
    max_text_chars: int = 20_000
    max_depth: int = 32
    # Tickers kept per document (feed's first, then cashtags); the rest are counted as dropped.
    max_tickers: int = 20
    # Clock skew allowed to a feed: a document dated further ahead is refused.
    max_future: timedelta = timedelta(minutes=5)
    # A document dated further back is refused (no index outside the retention); None: any.
    max_age: timedelta | None = None


@dataclass(frozen=True)
class InputSpec:
    """How one input topic's JSON maps onto RawDoc: our field → dotted path in theirs."""

    source: str
    fields: Mapping[str, str] = field(default_factory=dict)
    # The sources a document may name for itself (every input's); any other becomes "other",
    # with the name it gave kept as source_name. Empty: this input's source only.
    sources: frozenset[str] = frozenset()
    # strptime formats of this feed's times, tried after ISO-8601 and RFC 2822 (a time without
    # a zone is UTC).
    time_formats: tuple[str, ...] = ()

    def normalise_source(self, claimed: str | None) -> str:
        """The scope source of a document that names ``claimed`` (None: this input's)."""
        if claimed is None:
            return self.source
        return claimed if claimed in (self.sources or {self.source}) else OTHER_SOURCE

    def path(self, name: str) -> str:
        """Where ``name`` is found in this feed's JSON."""
        return self.fields.get(name, name)


def _depth(value: Any, limit: int) -> int:
    stack = [(value, 1)]
    deepest = 0
    while stack:
        item, depth = stack.pop()
        deepest = max(deepest, depth)
        if deepest > limit:
            return deepest
        if isinstance(item, dict):
            stack += [(v, depth + 1) for v in item.values()]
        elif isinstance(item, list):
            stack += [(v, depth + 1) for v in item]
    return deepest


def _parse(value: bytes, limits: DecodeLimits) -> dict[str, Any]:
    if len(value) > limits.max_bytes:
        raise DecodeError("oversized", f"{len(value)} bytes, limit {limits.max_bytes}")
    try:
        value.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DecodeError("invalid_utf8", f"byte {exc.start} is not UTF-8") from exc
    try:
        data = orjson.loads(value)
    except orjson.JSONDecodeError as exc:
        raise DecodeError("invalid_json", str(exc)) from exc
    if not isinstance(data, dict):
        raise DecodeError("not_an_object", f"top level is a JSON {type(data).__name__}")
    if _depth(data, limits.max_depth) > limits.max_depth:
        raise DecodeError("too_deep", f"JSON nested deeper than {limits.max_depth}")
    return data


def _get(data: Mapping[str, Any], path: str) -> Any:
    node: Any = data
    for part in path.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


def _text(raw: Any, name: str, limits: DecodeLimits, required: bool) -> str | None:
    if raw is None:
        if required:
            raise DecodeError(f"missing_{name}", f"no {name} field")
        return None
    if not isinstance(raw, str):
        raise DecodeError("wrong_type", f"{name} must be a string, got {type(raw).__name__}")
    clean = _CONTROL.sub("", raw).strip()
    if required and not clean:
        raise DecodeError(f"empty_{name}", f"{name} is empty")
    if len(clean) > limits.max_text_chars:
        raise DecodeError("oversized_text", f"{name} has {len(clean)} characters")
    return clean or None


def _text_time(raw: str, formats: Sequence[str]) -> datetime:
    """ISO-8601, RFC 2822 (RSS's "Sat, 05 Dec 2026 14:30:00 +0000") or one of ``formats``."""
    text = raw.strip()
    try:
        return datetime.fromisoformat(text)
    except ValueError as exc:
        first = exc
    try:
        return parsedate_to_datetime(text)
    except (ValueError, TypeError, IndexError):
        pass
    for fmt in formats:
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            continue
    raise first


def parse_time(
    raw: Any, fallback_ms: int | None, limits: DecodeLimits, formats: Sequence[str] = ()
) -> datetime:
    """ISO-8601, RFC 2822, one of the feed's ``formats``, or epoch (seconds or milliseconds);
    absent: the Kafka record timestamp."""
    if raw is None:
        if fallback_ms is None:
            raise DecodeError("bad_timestamp", "no published_at and no record timestamp")
        raw = fallback_ms / 1000
    try:
        if isinstance(raw, bool):
            raise TypeError("a boolean is not a time")
        if isinstance(raw, int | float):
            seconds = raw / 1000 if abs(raw) >= 1e11 else raw
            when = datetime.fromtimestamp(seconds, tz=UTC)
        elif isinstance(raw, str):
            when = _text_time(raw, formats)
            when = when if when.tzinfo else when.replace(tzinfo=UTC)
        else:
            raise TypeError(f"a {type(raw).__name__} is not a time")
    except (ValueError, TypeError, OverflowError, OSError) as exc:
        raise DecodeError("bad_timestamp", f"published_at {raw!r}: {exc}") from exc
    now = datetime.now(UTC)
    if when < _EARLIEST:
        raise DecodeError("bad_timestamp", f"published_at {when.isoformat()} is out of range")
    if when > now + limits.max_future:
        raise DecodeError(
            "future_timestamp",
            f"published_at {when.isoformat()} is more than {limits.max_future} ahead of now",
        )
    if limits.max_age is not None and when < now - limits.max_age:
        raise DecodeError(
            "expired_timestamp",
            f"published_at {when.isoformat()} is older than the retention ({limits.max_age})",
        )
    return when.astimezone(UTC)


def _tickers(raw: Any) -> tuple[list[str], int]:
    """The valid symbols, each once, in order; and how many entries were not valid symbols."""
    if raw is None:
        return [], 0
    if isinstance(raw, str):
        raw = raw.split(",")
    if not isinstance(raw, list) or not all(isinstance(t, str) for t in raw):
        raise DecodeError("wrong_type", "tickers must be a list of strings or a comma string")
    named = [t.strip().lstrip("$").upper() for t in raw if t.strip().lstrip("$")]
    valid = list(dict.fromkeys(t for t in named if TICKER.match(t)))
    return valid, sum(1 for t in named if not TICKER.match(t))


def bound_tickers(tickers: list[str], limit: int) -> tuple[list[str], int]:
    """The first ``limit`` tickers, and how many were cut."""
    return tickers[:limit], max(0, len(tickers) - limit)


def _doc_id(raw: Any, source: str, url: str | None, text: str) -> str:
    if raw is None:
        key = "\x1f".join((source, url or "", text)).encode("utf-8")
        return hashlib.sha256(key).hexdigest()[:32]
    if isinstance(raw, bool) or not isinstance(raw, str | int):
        raise DecodeError("wrong_type", f"id must be a string or integer, got {type(raw).__name__}")
    doc_id = str(raw).strip()
    if not doc_id or len(doc_id.encode("utf-8")) > MAX_ID_BYTES:
        raise DecodeError("bad_id", f"id must have 1 to {MAX_ID_BYTES} bytes of UTF-8")
    return doc_id


def decode(
    value: bytes | None,
    spec: InputSpec,
    *,
    timestamp_ms: int | None = None,
    limits: DecodeLimits = DecodeLimits(),
) -> RawDoc:
    """One input message → RawDoc; anything else raises DecodeError with a reason."""
    if value is None:
        raise DecodeError("empty_message", "the message has no value (tombstone)")
    data = _parse(value, limits)
    text = _text(_get(data, spec.path("text")), "text", limits, required=True)
    assert text is not None
    extra = {
        n: _text(_get(data, spec.path(n)), n, limits, required=False) for n in _OPTIONAL_STRINGS
    }
    claimed = _text(_get(data, spec.path("source")), "source", limits, required=False)
    source = spec.normalise_source(claimed)
    if source != claimed and claimed is not None and extra["source_name"] is None:
        extra["source_name"] = claimed[:256]  # what the document said, searchable, no scope
    tickers, invalid = _tickers(_get(data, spec.path("tickers")))
    kept, cut = bound_tickers(tickers, limits.max_tickers)
    return RawDoc(
        id=_doc_id(_get(data, spec.path("id")), source, extra["url"], text),
        text=text,
        source=source,
        published_at=parse_time(
            _get(data, spec.path("published_at")), timestamp_ms, limits, spec.time_formats
        ),
        tickers=kept,
        tickers_dropped=invalid + cut,
        **extra,
    )
