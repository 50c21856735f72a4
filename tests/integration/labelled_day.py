"""A labelled day of traffic: 24 hours of headlines (and two before, as history) with the
events injected into them.

Volume follows the trading day (quiet overnight, three times busier while the US market is open,
with hour-long ramps); companies of very different activity (Zipf) are named by name, without
cashtags, so their tickers come from entity linking (one in ten writes a cashtag as well); some
headlines name no company. Injected: strong and moderate negative bursts, positive volume
bursts and a repost storm of one negative story. Every text is written for undertow.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

# (name as news writes it, the ticker entity linking gives it)
COMPANIES = (
    ("Nvidia", "NVDA"), ("Microsoft", "MSFT"), ("Tesco", "TSCO"), ("Unilever", "UL"),
    ("Boeing", "BA"), ("Pfizer", "PFE"), ("Barclays", "BCS"), ("Volkswagen", "VOW3"),
    ("Adidas", "ADS"), ("Airbus", "AIR.PA"), ("Vodafone", "VOD"), ("Glencore", "GLEN"),
    ("AstraZeneca", "AZN"), ("Netflix", "NFLX"), ("Intel", "INTC"), ("Caterpillar", "CAT"),
    ("Walmart", "WMT"), ("Starbucks", "SBUX"), ("Ferrari", "RACE"), ("Allianz", "ALV"),
    ("Diageo", "DEO"), ("Philips", "PHG"), ("Ericsson", "ERIC"), ("Iberdrola", "IBE"),
    ("Qualcomm", "QCOM"), ("Costco", "COST"), ("Vinci", "DG"), ("Renault", "RNO"),
)  # fmt: skip
# Each with a figure ({n}, {p}) so that headlines are distinct stories, not reposts.
NEUTRAL = (
    "{c} to hold its annual shareholder meeting on May {d}, {n} attendees expected",
    "{c} names new head of investor relations, effective {d} June, among {n} changes",
    "{c} schedules results call for {d} October, ticket {n}",
    "{c} shares little changed at {n} pence in early trade",
    "{c} opens office with {n} staff in Singapore",
    "{c} to present at industry conference on {d} March in hall {n}",
)
POSITIVE = (
    "{c} shares jump {p}% after profit beats forecasts",
    "{c} raises full-year guidance by {p}% on strong demand",
    "{c} wins record ${n} million order, shares rally",
    "{c} posts surprise {p}% rise in quarterly revenue",
)
NEGATIVE = (
    "{c} shares plunge {p}% after profit warning",
    "{c} cuts outlook by {p}% as demand collapses",
    "{c} hit by fraud probe, shares tumble {p}%",
    "{c} slashes dividend after ${n} million quarterly loss",
    "{c} recalls {n} products over safety fears, shares sink",
)
MARKET = (
    "Stocks edge {p}% higher as traders await central bank decision",
    "Oil steady near ${n} as investors weigh supply outlook",
    "Treasury yields little changed ahead of jobs data, {n} economists polled",
    "Dollar firms {p}% against the euro in quiet trade",
)
CALM = (0.15, 0.55, 0.30)  # negative, neutral, positive


@dataclass
class Day:
    """The day's raw documents (as a feed sends them) and the events injected, as the backtest
    reads labelled events; ``kinds`` says which kind each event is."""

    docs: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, str]] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)
    storm: tuple[str, int] = ("", 0)  # the repost storm's ticker and its reposts


def market_rate(hours: float) -> float:
    """Documents per minute ``hours`` into the day: 8 overnight, 24 from 14:30 to 20:00 (the
    US session in UTC), hour-long ramps."""
    hours %= 24
    if 13.5 <= hours < 14.5:
        return 8 + 16 * (hours - 13.5)
    if 14.5 <= hours < 20:
        return 24.0
    if 20 <= hours < 21:
        return 24 - 16 * (hours - 20)
    return 8.0


# Words that vary between outlets' headlines, so that distinct stories read as distinct (the
# story detector joins near-duplicates: 60% of 3-word shingles in common).
LEADS = ("", "UPDATE 1-", "UPDATE 2-", "Exclusive:", "Analysis:", "BRIEF-", "Market wrap:")
TAILS = (
    "", "analysts say", "sources say", "in early trade", "after the bell", "on {day}",
    "ahead of {day}'s session", "a filing showed", "its chief says", "reports {wire}",
)  # fmt: skip
DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday")
WIRES = ("Reuters", "Bloomberg", "Dow Jones", "the FT", "Nikkei")


def _text(rng: random.Random, company: str, label: str) -> str:
    pool = {"negative": NEGATIVE, "neutral": NEUTRAL, "positive": POSITIVE, "market": MARKET}
    head = rng.choice(pool[label]).format(
        c=company, p=f"{rng.uniform(0.5, 30):.2f}", n=rng.randint(10, 99999), d=rng.randint(1, 28)
    )
    tail = rng.choice(TAILS).format(day=rng.choice(DAYS), wire=rng.choice(WIRES))
    return " ".join(part for part in (rng.choice(LEADS), head, tail) if part)


def _doc(
    text: str, at: datetime, ticker: str | None = None, cashtag: bool = False
) -> dict[str, Any]:
    if cashtag and ticker:
        text = f"{text} ${ticker.split('.')[0]}"
    return {"id": uuid.uuid4().hex, "text": text, "published_at": at.isoformat()}


def generate(end: datetime, seed: int = 21) -> Day:
    """The 24 hours before ``end``, and two hours before them: the baselines of the first
    evaluations (a backtest of the day reads them as history)."""
    rng = random.Random(seed)
    start = end - timedelta(hours=26)
    day = Day()
    weights = [1 / (i + 1) for i in range(len(COMPANIES))]
    minute = start
    while minute < end:
        # The day's clock starts at the start, so every run sees the same day.
        hours = (minute - start).total_seconds() / 3600
        for _ in range(round(rng.gauss(market_rate(hours), 1.5))):
            at = minute + timedelta(seconds=rng.uniform(0, 59.9))
            if rng.random() < 0.15:
                day.docs.append(_doc(_text(rng, "", "market"), at))
                continue
            name, ticker = rng.choices(COMPANIES, weights)[0]
            label = rng.choices(("negative", "neutral", "positive"), CALM)[0]
            day.docs.append(_doc(_text(rng, name, label), at, ticker, rng.random() < 0.1))
        minute += timedelta(minutes=1)
    # (hours before the end, company index, kind); quiet and busy names alike.
    plan = [
        (21.0, 9, "strong"), (15.2, 3, "strong"), (4.5, 20, "strong"),
        (19.0, 14, "moderate"), (16.4, 6, "moderate"), (11.3, 24, "moderate"),
        (8.1, 1, "moderate"), (2.2, 17, "moderate"),
        (13.0, 12, "positive"), (6.6, 5, "positive"),
        (9.4, 22, "storm"),
    ]  # fmt: skip
    for hours, index, kind in plan:
        name, ticker = COMPANIES[index]
        onset = end - timedelta(hours=hours)
        minutes = 15 if kind == "storm" else 10
        # The company's own documents in 10 minutes then: a burst's strength is relative.
        usual = 10 * 0.85 * market_rate(26 - hours) * weights[index] / sum(weights)
        _burst(day, rng, onset, (name, ticker), kind, usual)
        if kind == "storm":
            continue
        rule = "volume_spike" if kind == "positive" else "negative_spike"
        day.events.append({
            "scope": f"ticker:{ticker}", "onset": onset.isoformat(),
            "end": (onset + timedelta(minutes=minutes)).isoformat(), "rule": rule,
        })  # fmt: skip
        day.kinds.append(kind)
    return day


def _burst(day: Day, rng: random.Random, onset: datetime, company: tuple[str, str], kind: str,
           usual: float) -> None:  # fmt: skip
    """Strong: 30 documents or 1.5 times the company's usual, 95% negative; moderate: 20 or
    0.8 times its usual, 80% negative; positive: 60 or 3 times, 95% positive."""
    name, ticker = company
    if kind == "storm":  # one negative story, reposted 80 times with other links
        story = f"{name} accused of hiding losses in leaked audit"
        for i in range(81):
            at = onset + timedelta(seconds=i * 11)
            link = f" https://t.co/{uuid.uuid4().hex[:10]}"
            day.docs.append(_doc(story + link, at))
        day.storm = (ticker, 80)
        return
    least, times, share, label = {
        "strong": (30, 1.5, 0.95, "negative"),
        "moderate": (20, 0.8, 0.8, "negative"),
        "positive": (60, 3.0, 0.95, "positive"),
    }[kind]
    count = max(least, round(times * usual))
    for i in range(count):
        at = onset + timedelta(seconds=i * 600 / count)
        mood = label if rng.random() < share else "neutral"
        day.docs.append(_doc(_text(rng, name, mood), at, ticker, rng.random() < 0.1))
