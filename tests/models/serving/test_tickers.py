"""Cashtag extraction."""

from __future__ import annotations

import pytest

from models.serving.tickers import cashtags, merge_tickers


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("$AAPL beats, $msft lags", ["AAPL", "MSFT"]),
        ("$BRK.B and $BF.A", ["BRK.B", "BF.A"]),
        ("raised $100 million at $4.50 a share", []),
        ("$TSLA $TSLA $tsla", ["TSLA"]),
        ("price$AAPL is not a cashtag, US$GOOG neither", []),
        ("($NVDA) jumps; $AMD.", ["NVDA", "AMD"]),
        ("$ABCDEFGHIJK is too long", []),
        ("", []),
    ],
)
def test_cashtags(text: str, expected: list[str]) -> None:
    assert cashtags(text) == expected


def test_merge_keeps_given_first_normalised_and_adds_cashtags_once() -> None:
    assert merge_tickers([" aapl", "$MSFT", ""], "$AAPL up, $NVDA down") == [
        "AAPL",
        "MSFT",
        "NVDA",
    ]
