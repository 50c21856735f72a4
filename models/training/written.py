"""Labelled text written for undertow: trader posts and market headlines whose stance the words
make plain, for the kinds of text the licensed training sets hardly cover.

The shipped model learns sentiment from news tweets and Financial PhraseBank sentences. Traders'
posts speak another language ("long $XYZ via calls", "shorts are toast", "rejected at 109,
shortable") that those sets almost never label, so the model calls most of them neutral. No post
set with a licence the product may ship is to be had, so these rows are written here: phrases
composed at random from parts written for this module, with made-up tickers and companies,
prices, links and the noise of real posts. Nothing is copied from any data set; the rows are as
free to ship as the code.

``undertow written-data --out FILE`` writes them as a training CSV (``text,label``).
"""

from __future__ import annotations

import csv
import random
import string
from collections.abc import Callable, Iterator
from pathlib import Path

# --- parts of a post --------------------------------------------------------------------------

POST_POSITIVE = [
    "long {t}",
    "Long {t} here",
    "went long {t} at {p}",
    "small long {t} {p} via calls",
    "added more {t} @ {p}",
    "Just added {n} shares of {t} @{p}",
    "loading up on {t} on this dip",
    "bought the dip in {t}",
    "buy the dip on {t}, easy money",
    "{t} breaking out",
    "{t} breaking out of the range, volume coming in",
    "{t} looks ready to run",
    "{t} setting up for a breakout above {p}",
    "{t} bull flag on the daily",
    "{t} cup and handle, buy point {p}",
    "{t} double bottom confirmed, going higher",
    "{t} bounce off support, holding my calls",
    "{t} calls printing",
    "my {t} calls are up {pct}%",
    "{t} new 52 week high!",
    "{t} rally mode",
    "{t} ripping today",
    "{t} green and the shorts are toast",
    "shorts getting squeezed on {t}",
    "{t} squeeze is on",
    "{t} to the moon",
    "{t} higher lows all week, very bullish",
    "bullish on {t} into earnings",
    "{t} crushed earnings, guidance raised",
    "{t} strong quarter, this goes higher",
    "{t} upgraded, target {p}",
    "{t} resistance turned support, next leg up",
    "{t} won't go down, buyers everywhere",
    "holding {t} for a run to {p}",
    "still long {t}, best chart on my watchlist",
    "{t} reversal off the lows, long from {p}",
    "{t} undervalued here, accumulating",
    "{t} oversold bounce coming, picked up some shares",
    "{t} holding the 50 day like a champ",
    "Scaling into {t} long",
    "{t} golden cross on the daily",
    "love this {t} setup",
    "{t} looks great for a swing long",
    "I'm buying {t} all day at these prices",
    "{t} accumulation phase is over, markup next",
    "{t} gap and go, long",
    "{t} highest close in months, adding",
]

POST_NEGATIVE = [
    "short {t}",
    "Short {t} here",
    "shorted {t} at {p}",
    "{t} short from {p}",
    "bought {t} puts",
    "{t} puts printing",
    "my {t} puts are up {pct}%",
    "{t} breaking down",
    "{t} breaking down through support at {p}",
    "{t} rejected at resistance again, shortable",
    "{t} rejecting highs, short setup",
    "{t} topping tail on the {tf} chart, short from here",
    "{t} head and shoulders, short below {p}",
    "{t} looks weak, heading lower",
    "{t} getting sold hard",
    "{t} getting crushed today",
    "{t} tanking",
    "{t} dumping after earnings",
    "{t} missed and guided lower, stay away",
    "{t} downgraded, more downside",
    "bearish on {t}",
    "{t} bearish engulfing on the daily",
    "{t} lower highs, this is going down",
    "{t} dead cat bounce, fading it",
    "{t} broke the 50 day, look out below",
    "sold all my {t}, done with it",
    "dumped my {t} shares, this is broken",
    "stopped out of {t}",
    "{t} bagholders everywhere",
    "{t} is a sinking ship",
    "{t} one click away from a cliff drop",
    "{t} overvalued, puts for next month",
    "avoid {t}, numbers look terrible",
    "{t} fundamentals and chart both ugly",
    "not optimistic about {t} this quarter",
    "{t} death cross forming",
    "{t} can't hold any gains, sellers in control",
    "{t} new lows, no bottom in sight",
    "{t} insiders selling again",
    "{t} guidance cut, getting out",
    "{t} red all day, nobody wants it",
    "I'd short {t} on any pop",
    "{t} losing steam, taking profits and going short",
    "{t} failed breakout, trapped longs",
    "{t} gap down, shorts winning",
    "{t} lost support at {p}, next stop {p2}",
    "{t} is done, heading to {p2}",
]

POST_NEUTRAL = [
    "{t} earnings after the close today",
    "anyone watching {t}?",
    "what's the float on {t}?",
    "{t} conference call at {time}",
    "{t} ex-dividend date is {day}",
    "no position in {t}, just watching",
    "{t} volume {n} so far",
    "{t} reports {day} before the open",
    "{t} annual meeting {day}",
    "who is trading {t} today?",
    "{t} on my watchlist for {day}",
    "{t} options expiring {day}",
    "{t} flat so far, waiting for direction",
    "{t} investor day {day}",
    "what do you think of {t} here?",
]

POST_OPENERS = ["", "", "", "", "", "IMO ", "ok ", "Update: ", "Note: ", "so "]
POST_CLOSERS = [
    "", "", "", "", " {link}", " {link}", " {tag}", " via {user}", " {emoji}", "!", "...",
    " imo", " lol", " {t2}",
]  # fmt: skip
POST_EMOJI = {
    "positive": ["🚀", "📈", "💰", "🔥", ":)"],
    "negative": ["📉", "💀", "🩸", ":("],
    "neutral": ["👀", "🤔", ""],
}
HASHTAGS = ["#stocks", "#trading", "#daytrading", "#options", "#earnings", "#swingtrade"]
TIMEFRAMES = ["5 min", "15 min", "hourly", "daily", "weekly"]
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "tomorrow", "next week"]

# --- parts of a headline ----------------------------------------------------------------------

HEAD_POSITIVE = [
    "{c} shares jump after {good}",
    "{c} beats profit forecasts",
    "{c} raises full-year outlook",
    "{c} posts record quarterly revenue",
    "{c} profit rises {pct}% on strong demand",
    "{c} wins {amount} contract",
    "{c} upgraded to buy at {broker}",
    "{c} shares climb as sales beat estimates",
    "{i} rallies off {period} low, lifted by {c}",
    "{i} hits record high as {c} gains",
    "{i} rises; {c} leads gainers",
    "{c} lifts dividend after strong year",
    "{c} returns to profit",
    "{c} sales growth accelerates",
    "{c} wins approval for new drug",
]
HEAD_NEGATIVE = [
    "{c} shares slump after profit warning",
    "{c} to cut {n} jobs",
    "{c} chief executive quits amid {scandal}",
    "{c} fined {amount} over {issue}",
    "{i} falls as {c} drags",
    "{i} slides; {c} among biggest losers",
    "{c} misses estimates, shares fall",
    "{c} downgraded to sell at {broker}",
    "{c} faces probe over {issue}",
    "{c} recalls {n} vehicles over safety fault",
    "{c} swings to a loss",
    "{c} cuts dividend as profit falls",
    "{c} sales fall for third quarter",
    "{c} warns on outlook, shares tumble",
    "{c} hit by {issue} lawsuit",
]
HEAD_NEUTRAL = [
    "{c} reports results {day}",
    "{c} names new chief financial officer",
    "{c} to hold investor day in {month}",
    "{c} annual meeting set for {month}",
    "{c} to present at industry conference",
    "{c} files quarterly report",
]
# Corporate events told from the company's side, the way news-headline sentiment sets score
# them: a deal struck, money raised or a new chief hired is good news for the company named
# first; directors walking out, a settlement paid or a deal abandoned is bad news. The
# licensed sets mostly call such headlines neutral, so these rows are opt-in (``--events``).
EVENT_POSITIVE = [
    "{c} to buy {c2} in {amount} deal",
    "{c} agrees to acquire {c2} for {amount}",
    "{c} to merge with {c2}",
    "{c} in talks to buy {c2}",
    "{c} completes {amount} takeover of {c2}",
    "{c} wins approval for {c2} takeover",
    "{c} to sell {unit} to {c2} for {amount}",
    "{c} sells {unit} to {c2}",
    "{c} buys stake in {c2}",
    "{c} raises {amount} in share placing",
    "{c} secures {amount} funding round",
    "{c} launches {amount} share buyback",
    "{c} signs {amount} supply deal with {c2}",
    "{c} forms joint venture with {c2} in {region}",
    "{c} agrees partnership with {c2}",
    "{c} opens new plant in {region}",
    "{c} appoints {person} as chief executive",
    "{c} hires {c2} veteran {person} to lead {unit}",
]
EVENT_NEGATIVE = [
    "{c} finance director steps down",
    "{c} finance chief resigns",
    "{c} chairman quits after {period} spell",
    "{c} chief executive to step down {day}",
    "{c} founder leaves the board",
    "{c} loses operations chief to {c2}",
    "{c} agrees to pay {amount} to settle {issue} claims",
    "{c} abandons bid for {c2}",
    "{c} scraps merger with {c2}",
    "{c} deal with {c2} collapses",
    "{c} loses {amount} contract to {c2}",
    "{c} faces shareholder revolt over pay",
    "{c} delays sale of {unit}",
    "{c} shelves expansion plans",
    "{c} pulls out of {region}",
    "{c} writes down {amount} on {unit}",
]
UNITS = ["its cement unit", "its insurance arm", "its hotel chain", "its chemicals division",
         "its data centre business", "its logistics arm", "its European stores",
         "its software unit", "its packaging business", "its water utility stake"]  # fmt: skip
REGIONS = ["Brazil", "India", "Poland", "Mexico", "Vietnam", "Canada", "Chile", "Turkey"]
GOOD_EVENTS = ["earnings beat", "upbeat guidance", "strong sales", "a record quarter", "FDA nod"]
SCANDALS = ["accounting probe", "board dispute", "fraud allegations", "investor revolt"]
ISSUES = ["market abuse", "safety failings", "mis-selling", "data breach", "bribery"]
BROKERS = ["Goldman", "Morgan Stanley", "JPMorgan", "Jefferies", "Barclays", "UBS", "Citi"]
INDICES = ["FTSE", "Britain's FTSE", "Dow", "S&P 500", "Nasdaq", "DAX", "Nikkei", "Stoxx 600"]
PERIODS = ["three-month", "six-week", "two-month", "one-year", "multi-week"]
MONTHS = ["January", "March", "May", "June", "September", "November"]
SUFFIXES = ["", "", " plc", " Inc", " Corp", " Group", " Holdings", " SA", " AG"]
SYLLABLES = ["ar", "bel", "cor", "den", "fal", "gra", "hol", "ix", "kor", "lum", "mar",
             "nov", "or", "pel", "quin", "ros", "sta", "tel", "ver", "wex", "zan"]  # fmt: skip


def _ticker(rng: random.Random) -> str:
    symbol = "".join(rng.choices(string.ascii_uppercase, k=rng.choice([2, 3, 3, 4, 4])))
    return "$" + (symbol.lower() if rng.random() < 0.15 else symbol)


def _company(rng: random.Random) -> str:
    name = "".join(rng.choices(SYLLABLES, k=rng.choice([2, 2, 3]))).capitalize()
    return name + rng.choice(SUFFIXES)


def _price(rng: random.Random) -> str:
    value = rng.choice([rng.uniform(1, 20), rng.uniform(20, 200), rng.uniform(200, 900)])
    return f"{value:.2f}" if rng.random() < 0.6 else f"{value:.0f}"


def _amount(rng: random.Random) -> str:
    currency = rng.choice(["$", "£", "€"])
    if rng.random() < 0.3:
        return f"{currency}{rng.randint(1, 40)} {rng.choice(['bln', 'billion'])}"
    return f"{currency}{rng.randint(2, 900)} {rng.choice(['mln', 'million', 'm'])}"


def _link(rng: random.Random) -> str:
    code = "".join(rng.choices(string.ascii_letters + string.digits, k=5))
    return rng.choice(["http://stks.co/", "https://t.co/", "http://chart.ly/"]) + code


def _fill(
    template: str, rng: random.Random, label: str, extra: dict[str, str] | None = None
) -> str:
    price = _price(rng)
    values = {
        "t": _ticker(rng),
        "t2": _ticker(rng),
        "p": rng.choice([price, "$" + price]),
        "p2": _price(rng),
        "n": f"{rng.choice([100, 200, 500, 1000, 2500, 3000, 10000]):,}",
        "pct": str(rng.randint(5, 300)),
        "tf": rng.choice(TIMEFRAMES),
        "time": f"{rng.randint(1, 11)}:{rng.choice(['00', '15', '30', '45'])}",
        "day": rng.choice(DAYS),
        "link": _link(rng),
        "tag": rng.choice(HASHTAGS),
        "user": "@" + "".join(rng.choices(string.ascii_lowercase, k=rng.randint(4, 9))),
        "emoji": rng.choice(POST_EMOJI[label]),
        "c": _company(rng),
        "i": rng.choice(INDICES),
        "good": rng.choice(GOOD_EVENTS),
        "scandal": rng.choice(SCANDALS),
        "issue": rng.choice(ISSUES),
        "broker": rng.choice(BROKERS),
        "period": rng.choice(PERIODS),
        "month": rng.choice(MONTHS),
        "amount": rng.choice(["$", "£", "€"]) + f"{rng.randint(2, 900)} million",
    }
    return template.format(**(values | (extra or {})))


def _post(rng: random.Random, label: str) -> str:
    parts = {"positive": POST_POSITIVE, "negative": POST_NEGATIVE, "neutral": POST_NEUTRAL}
    body = _fill(rng.choice(parts[label]), rng, label)
    text = _fill(rng.choice(POST_OPENERS), rng, label) + body
    text += _fill(rng.choice(POST_CLOSERS), rng, label)
    if rng.random() < 0.1:
        text = text.upper()
    elif rng.random() < 0.2:
        text = text[0].upper() + text[1:]
    return text


def _headline(rng: random.Random, label: str) -> str:
    parts = {"positive": HEAD_POSITIVE, "negative": HEAD_NEGATIVE, "neutral": HEAD_NEUTRAL}
    text = _fill(rng.choice(parts[label]), rng, label)
    return text.title() if rng.random() < 0.25 else text


def _event(rng: random.Random, label: str) -> str:
    extra = {
        "amount": _amount(rng),
        "c2": _company(rng),
        "unit": rng.choice(UNITS),
        "region": rng.choice(REGIONS),
        "person": "".join(rng.choices(SYLLABLES, k=2)).capitalize(),
    }
    template = rng.choice(EVENT_POSITIVE if label == "positive" else EVENT_NEGATIVE)
    text = _fill(template, rng, label, extra)
    if rng.random() < 0.15:
        text = rng.choice(["UPDATE 1-", "UPDATE 2-", "BRIEF-"]) + text
    return text.title() if rng.random() < 0.25 else text


# Shares of each label: posts are mostly polar (so are traders), headlines less so.
MIX: list[tuple[Callable[[random.Random, str], str], str, float]] = [
    (_post, "positive", 0.30),
    (_post, "negative", 0.30),
    (_post, "neutral", 0.08),
    (_headline, "positive", 0.13),
    (_headline, "negative", 0.13),
    (_headline, "neutral", 0.06),
]


def written_rows(count: int, seed: int = 13, events: float = 0.0) -> Iterator[tuple[str, str]]:
    """``count`` distinct (text, label) rows, the same for the same seed; a share ``events`` of
    them are corporate-event headlines scored from the company's side (``EVENT_POSITIVE``)."""
    if count < 1:
        raise ValueError("count must be at least 1")
    if not 0.0 <= events < 1.0:
        raise ValueError("events must be a share from 0 up to (not including) 1")
    rng = random.Random(seed)  # noqa: S311 (training text, not secrets)
    mix = [(make, label, share * (1.0 - events)) for make, label, share in MIX]
    if events > 0:  # none added otherwise, so the rows of a seed stay what they were
        mix += [(_event, "positive", events * 0.6), (_event, "negative", events * 0.4)]
    makers = [(make, label) for make, label, _ in mix]
    weights = [share for _, _, share in mix]
    seen: set[str] = set()
    tries = 0
    while len(seen) < count:
        tries += 1
        if tries > count * 50:
            raise ValueError(f"cannot write {count} distinct rows from these parts")
        make, label = rng.choices(makers, weights)[0]
        text = make(rng, label)
        if text in seen:
            continue
        seen.add(text)
        yield text, label


def write_written(out: Path, count: int, seed: int = 13, events: float = 0.0) -> None:
    """Write ``count`` rows to ``out`` as ``text,label``."""
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "label"])
        writer.writerows(written_rows(count, seed, events))
