"""Synthetic scored traffic for alerting tests: steady mixed background and negative bursts."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta

from streaming.records import ScoredDoc
from tests.streaming.factories import scored

TOPICS = ("Earnings", "Macro", "M&A | Investments", "Energy | Oil")
TICKERS = ("AAA", "BBB", "CCC")


def background(start: datetime, end: datetime, per_minute: int, seed: int = 1) -> list[ScoredDoc]:
    """Ordinary traffic: every topic and ticker, about 15% negative, unique stories."""
    rng = random.Random(seed)
    docs = []
    minute = start
    while minute < end:
        for _ in range(per_minute):
            label = rng.choices(["negative", "neutral", "positive"], [0.15, 0.55, 0.30])[0]
            when = minute + timedelta(seconds=rng.uniform(0, 59))
            docs.append(
                scored(
                    f"story {uuid.uuid4().hex}",
                    label=label,
                    topic=rng.choice(TOPICS),
                    tickers=(rng.choice(TICKERS),),
                    published_at=when,
                )
            )
        minute += timedelta(minutes=1)
    return docs


def burst(
    start: datetime, minutes: int, per_minute: int, *, topic: str, ticker: str
) -> list[ScoredDoc]:
    """Clearly negative documents on one topic and one ticker."""
    docs = []
    for m in range(minutes):
        for i in range(per_minute):
            when = start + timedelta(minutes=m, seconds=i * 60 / per_minute)
            docs.append(
                scored(
                    f"bad news {uuid.uuid4().hex}",
                    label="negative",
                    topic=topic,
                    tickers=(ticker,),
                    published_at=when,
                )
            )
    return docs


def now() -> datetime:
    """The current time in UTC."""
    return datetime.now(UTC)
