"""Cashtags in text ($AAPL, $BRK.B) → ticker symbols, merged with tickers a feed already gave."""

from __future__ import annotations

import re
from collections.abc import Iterable

# A cashtag starts with a letter (so "$100" is money, not a ticker), up to 10 characters, and
# may carry a class suffix such as ".B". It must not be glued to a preceding word character.
_CASHTAG = re.compile(r"(?<![\w$])\$([A-Za-z][A-Za-z0-9]{0,9}(?:\.[A-Za-z]{1,2})?)(?![\w])")


def cashtags(text: str) -> list[str]:
    """Upper-cased cashtag symbols in order of first appearance, without duplicates."""
    seen: dict[str, None] = {}
    for match in _CASHTAG.finditer(text):
        seen.setdefault(match.group(1).upper(), None)
    return list(seen)


def merge_tickers(given: Iterable[str], text: str) -> list[str]:
    """Given tickers (normalised) then the cashtags found in ``text``, each once."""
    merged: dict[str, None] = {}
    for symbol in given:
        clean = symbol.strip().lstrip("$").upper()
        if clean:
            merged.setdefault(clean, None)
    for symbol in cashtags(text):
        merged.setdefault(symbol, None)
    return list(merged)
