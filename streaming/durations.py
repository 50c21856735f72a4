"""Durations as people type them on the command line and in API queries (``15m``, ``7d``)."""

from __future__ import annotations

from datetime import timedelta

from streaming.exceptions import StreamingError

MAX_DURATION_S = 366 * 86400


class DurationError(StreamingError):
    """A duration that is not a positive number with a unit, or longer than a year."""


def parse_duration(text: str) -> timedelta:
    """``90s``, ``15m``, ``2h``, ``7d`` → timedelta (a clear error otherwise)."""
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    value, unit = text[:-1], text[-1:].lower()
    if unit not in units or not value.isdigit() or int(value) <= 0 or len(value) > 9:
        raise DurationError(
            f"duration {text!r}: use a positive number with s, m, h or d (e.g. 15m)"
        )
    seconds = int(value) * units[unit]
    if seconds > MAX_DURATION_S:
        raise DurationError(f"duration {text!r} is longer than a year")
    return timedelta(seconds=seconds)
