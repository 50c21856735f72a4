"""Company names in text → instruments: entity linking for documents without cashtags.

Instruments come from ``pytickersymbols`` (MIT: about 1,800 constituents of major indices, with
names and ISINs) and an operator's watchlist file, which adds instruments and overrides or
disables those of the package. Every instrument gets aliases: its name, the name without legal
suffixes ("Tesco PLC" → "Tesco") and the watchlist's own ("Glaxo"). One Aho-Corasick automaton
over the lower-cased aliases finds every mention in one pass over a document.

A mention counts only as a proper noun (its first letter upper case; an alias of three letters
or fewer, or written in capitals like "BP", exactly as written) on word boundaries. An alias
that is a common English word ("Apple", "Target", "Next"; ``models/data/common_words.txt``), the
first word of a longer name ("Abbott" for "Abbott Laboratories"), or any alias of a watchlist
entry marked ``needs_context``, counts only with context: a legal suffix right after it, the
instrument's cashtag, or a market word (shares, stock, earnings, CEO, ...) in the document.

Each instrument found gets a relevance from where it is first mentioned (title 1.0, first
sentence 0.8, further on 0.5) and how often (+0.1 for each further mention, up to 1.0).
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import ahocorasick
import orjson
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from models.exceptions import ModelError

log = logging.getLogger(__name__)
Where = Literal["title", "lead", "body"]
WEIGHT: dict[Where, float] = {"title": 1.0, "lead": 0.8, "body": 0.5}
COMMON_WORDS = Path(__file__).resolve().parent.parent / "data" / "common_words.txt"
# Dropped from the end of a name to make its short alias ("Apple Inc." → "Apple").
_SUFFIXES = """inc inc. incorporated corp corp. corporation co co. company companies plc p.l.c.
ag se n.v. nv s.a. sa s.p.a. spa ltd ltd. limited holdings holding group kgaa asa ab oyj a/s
s.a.b. sab llc l.p. lp trust the class a b c de cv reit &"""
LEGAL_SUFFIXES = frozenset(_SUFFIXES.split())
_SUFFIX_AFTER = re.compile(
    r"\s*,?\s*(inc\b|corp\b|corporation\b|plc\b|ag\b|se\b|n\.?v\b|s\.?a\b|ltd\b|limited\b"
    r"|group\b|holdings\b|co\b|company\b|llc\b)",
    re.IGNORECASE,
)
# Words that make an ambiguous name a company: about its shares, results, people, deals.
_MARKET = re.compile(
    r"\b(shares?|stocks?|equity|share price|price target|market (cap|value)|earnings|revenues?|"
    r"profits?|losses?|results|quarter(ly)?|q[1-4]|fiscal|guidance|outlook|forecasts?|dividends?|"
    r"buybacks?|ipo|listing|listed|investors?|shareholders?|analysts?|downgrades?|upgrades?|"
    r"rating|valuation|ceo|cfo|chairman|chief executive|board|executives?|layoffs?|jobs cuts?|"
    r"merger|acquisition|acquires?|takeover|bid|deal|stake|bonds?|debt|lawsuit|sued|probe|"
    r"investigation|regulators?|antitrust|recalls?|sales|nyse|nasdaq|ftse|dax|s&p|"
    r"assets|divest(s|ment)?|sells?|sale|spin-?off|unit|subsidiary|workforce|staff|employees|"
    r"jobs|plants?|factor(y|ies)|stores|customers|fees|prices)\b",
    re.IGNORECASE,
)
# Moves that make an ambiguous name a company only right after it ("Target falls 5%").
_MOVE = re.compile(
    r"(?:'s)?\s+(?:\w+\s+)?(shares?|stock|rall(y|ies|ied)|slump(s|ed)?|plunges?|soars?|"
    r"tumbles?|jumps?|falls?|rises?|sinks?|climbs?|drops?|gains?|beats?|misses|cuts?|raises?|"
    r"lifts?|lowers?|warns?|posts?|reports?|names?|hires?|buys?|agrees?|wins?)\b",
    re.IGNORECASE,
)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n")


class WatchEntry(BaseModel):
    """One instrument of the watchlist file: added, or overriding the package's same ticker."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    ticker: str = Field(min_length=1, max_length=16, pattern=r"^[A-Za-z0-9][A-Za-z0-9.\-]*$")
    name: str | None = Field(default=None, min_length=1, max_length=200)
    aliases: list[str] = []
    exchange: str | None = None
    isin: str | None = Field(default=None, pattern=r"^[A-Z]{2}[A-Z0-9]{9}[0-9]$")
    needs_context: bool = False
    disabled: bool = False


class Watchlist(BaseModel):
    """The watchlist file: ``instruments:`` a list of entries."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    instruments: list[WatchEntry] = []


@dataclass(frozen=True)
class Instrument:
    """A tradable company: its ticker (the scope), name, exchange, ISIN and aliases."""

    ticker: str
    name: str
    exchange: str | None = None
    isin: str | None = None
    aliases: tuple[str, ...] = ()
    # Aliases that count only with context (on top of common words and first words).
    ambiguous: frozenset[str] = frozenset()
    # Words of its industries ("oil", "retail"): one in the document is context for it.
    sector: frozenset[str] = frozenset()


@dataclass
class Mention:
    """An instrument found in one document."""

    instrument: Instrument
    matched: str
    where: Where
    count: int = 1
    relevance: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        """As the ``entities`` of a scored document."""
        ins = self.instrument
        return {
            "ticker": ins.ticker, "name": ins.name, "exchange": ins.exchange, "isin": ins.isin,
            "matched": self.matched, "where": self.where, "count": self.count,
            "relevance": round(self.relevance, 3),
        }  # fmt: skip


def short_name(name: str) -> str:
    """The name without trailing legal suffixes, notes in brackets and punctuation ("Apple
    Inc." → "Apple", "Rio Tinto (corporation)" → "Rio Tinto")."""
    words = re.sub(r"\([^)]*\)", " ", name).replace(",", " ").split()
    while len(words) > 1 and words[-1].lower() in (*LEGAL_SUFFIXES, "and"):
        words.pop()
    if len(words) > 1 and words[0].lower() == "the":
        words.pop(0)
    return " ".join(words).strip(" .,-&")


_YAHOO_EXCHANGES = {
    "L": "LSE", "DE": "XETRA", "F": "FRA", "PA": "EPA", "AS": "AMS", "BR": "EBR", "MC": "BME",
    "MI": "BIT", "SW": "SIX", "ST": "STO", "HE": "HEL", "T": "TYO", "CO": "CPH", "OL": "OSL",
    "VI": "VIE", "LS": "ELI", "IR": "ISE",
}  # fmt: skip


def _ticker_of(stock: dict[str, Any]) -> tuple[str, str | None] | None:
    """(ticker, exchange): the US listing's symbol where there is one (what cashtags use), else
    the home listing's without its Yahoo suffix."""
    for listing in stock.get("symbols") or []:
        google = str(listing.get("google") or "")
        market, _, symbol = google.partition(":")
        if market in ("NYSE", "NASDAQ") and symbol:
            return symbol.upper(), market
    symbol = str(stock.get("symbol") or "")
    if not symbol:
        return None
    base, _, suffix = symbol.rpartition(".")
    if base and suffix.upper() in _YAHOO_EXCHANGES:
        return base.upper(), _YAHOO_EXCHANGES[suffix.upper()]
    return symbol.upper(), None


def package_instruments() -> list[Instrument]:
    """Every constituent ``pytickersymbols`` knows, once per ticker. US listings are placed
    first (their symbols are what cashtags use); a home listing whose symbol a US one holds
    keeps its Yahoo symbol ("BA" is Boeing, BAE Systems is "BA.L")."""
    from pytickersymbols import PyTickerSymbols  # noqa: PLC0415 (only when linking is on)

    stocks = [s for s in PyTickerSymbols().get_all_stocks() if str(s.get("name") or "").strip()]
    placed = [(s, t) for s in stocks if (t := _ticker_of(s)) is not None]
    placed.sort(key=lambda st: st[1][1] not in ("NYSE", "NASDAQ"))  # stable: US first
    found: dict[str, Instrument] = {}
    names: set[str] = set()
    for stock, (symbol, exchange) in placed:
        name = str(stock["name"]).strip()
        if name in names:
            continue
        ticker = symbol if symbol not in found else str(stock.get("symbol") or "").upper()
        if not ticker or ticker in found:
            continue
        isins = stock.get("isins") or []
        sector = frozenset(
            near for industry in stock.get("industries") or []
            for w in re.findall(r"[a-z]{3,}", str(industry).lower()) if w not in _GENERIC
            for near in (w, *_NEAR.get(w, ()))
        )  # fmt: skip
        names.add(name)
        found[ticker] = Instrument(ticker, name, exchange, isins[0] if isins else None,
                                   sector=sector)  # fmt: skip
    return list(found.values())


# Industry words too general to be context ("Consumer Cyclicals", "Industrial Goods").
_GENERIC_WORDS = """services service goods consumer cyclicals cyclical non-cyclicals industrial
industrials products equipment companies general other holding holdings integrated diversified
components supplies commercial company group development"""
_GENERIC = frozenset(_GENERIC_WORDS.split())
# Words a document about a company of an industry uses, beyond the industry's own name.
_NEAR: dict[str, tuple[str, ...]] = {
    "petroleum": ("oil", "crude", "gas", "lng", "refinery", "refining", "drilling", "barrels"),
    "oil": ("crude", "petroleum", "lng", "refinery", "drilling", "barrels", "opec"),
    "energy": ("oil", "gas", "power", "electricity", "renewables", "wind", "solar"),
    "retail": ("stores", "store", "shoppers", "retailer", "grocer", "supermarket"),
    "retailing": ("stores", "store", "shoppers", "retailer"),
    "retailers": ("stores", "store", "shoppers", "retailer"),
    "banks": ("bank", "lender", "loans", "deposits", "banking"),
    "banking": ("bank", "lender", "loans", "deposits"),
    "pharmaceuticals": ("drug", "drugs", "vaccine", "fda", "trial", "drugmaker"),
    "pharmaceutical": ("drug", "drugs", "vaccine", "fda", "trial", "drugmaker"),
    "biotechnology": ("drug", "vaccine", "fda", "trial", "biotech"),
    "automotive": ("car", "cars", "vehicle", "vehicles", "carmaker", "automaker"),
    "automobiles": ("car", "cars", "vehicle", "vehicles", "carmaker", "automaker"),
    "mining": ("mine", "mines", "miner", "ore", "copper", "iron", "gold", "lithium"),
    "telecommunications": ("mobile", "broadband", "telecom", "network", "carrier"),
    "insurance": ("insurer", "claims", "premiums"),
    "semiconductors": ("chip", "chips", "chipmaker", "semiconductor"),
    "software": ("cloud", "app", "apps"),
    "aerospace": ("aircraft", "jet", "jets", "planes", "airline", "airlines"),
    "beverages": ("drinks", "beer", "soda"),
    "media": ("streaming", "subscribers", "studio"),
}
ALIASES = Path(__file__).resolve().parent.parent / "data" / "aliases.yaml"


def read_watchlist(path: Path) -> Watchlist:
    """The watchlist file (YAML); a bad one raises ModelError naming the file and the key."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        return Watchlist.model_validate(data)
    except OSError as exc:
        raise ModelError(f"cannot read the watchlist {path}: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise ModelError(f"the watchlist {path} is not valid YAML: {exc}") from exc
    except ValidationError as exc:
        where = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        raise ModelError(f"the watchlist {path} is invalid: {where}") from exc


def merged(base: Iterable[Instrument], watchlist: Watchlist) -> list[Instrument]:
    """The package's instruments with the watchlist's added, overridden or disabled."""
    out = {ins.ticker: ins for ins in base}
    for entry in watchlist.instruments:
        ticker = entry.ticker.upper()
        if entry.disabled:
            out.pop(ticker, None)
            continue
        old = out.get(ticker) or Instrument(ticker, entry.name or ticker)
        aliases = tuple(dict.fromkeys([*old.aliases, *entry.aliases]))
        ambiguous = set(old.ambiguous)
        if entry.needs_context:  # this entry's names only
            ambiguous |= {*entry.aliases, *([entry.name, short_name(entry.name)] if entry.name
                                            else [])}  # fmt: skip
        out[ticker] = replace(
            old, name=entry.name or old.name, exchange=entry.exchange or old.exchange,
            isin=entry.isin or old.isin, aliases=aliases, ambiguous=frozenset(ambiguous),
        )  # fmt: skip
    return list(out.values())


def common_words(path: Path = COMMON_WORDS) -> frozenset[str]:
    """The common English words of ``models/data/common_words.txt``."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return frozenset(w.strip().lower() for w in lines if w.strip() and not w.startswith("#"))


@dataclass(frozen=True)
class _Alias:
    instrument: int
    text: str
    exact: bool  # short or written in capitals: match the case exactly
    needs_context: bool


@dataclass
class EntityLinker:
    """Finds instruments in documents (thread-safe once built)."""

    instruments: list[Instrument]
    common: frozenset[str] = field(default_factory=common_words)

    def __post_init__(self) -> None:
        self._automaton = ahocorasick.Automaton()
        entries: dict[str, list[_Alias]] = {}
        first_words: dict[str, set[int]] = {}
        for i, ins in enumerate(self.instruments):
            short = short_name(ins.name)
            words = short.split()
            if len(words) > 1 and len(words[0]) >= 4 and words[0][0].isupper():
                first_words.setdefault(words[0], set()).add(i)
            names = [ins.name.strip(" ,."), short, *ins.aliases]
            for alias in dict.fromkeys([*names, *(_folded(n) for n in names)]):
                if len(alias) < 2:
                    continue
                context = alias in ins.ambiguous or alias.lower() in self.common
                exact = len(alias) <= 3 or alias.isupper()
                entries.setdefault(alias.lower(), []).append(_Alias(i, alias, exact, context))
        for word, owners in first_words.items():  # "Abbott", if it names one company only
            if len(owners) == 1 and word.lower() not in entries and word.lower() not in self.common:
                (i,) = owners
                entries[word.lower()] = [_Alias(i, word, word.isupper(), True)]
        for key, aliases in entries.items():
            self._automaton.add_word(key, (len(key), aliases))
        self._automaton.make_automaton()

    def link(self, title: str | None, text: str, cashtags: Iterable[str] = ()) -> list[Mention]:
        """The instruments mentioned in a document, most relevant first."""
        head = f"{title}\n" if title else ""
        full = head + text
        lead_end = len(head) + _lead_length(text)
        found: dict[int, Mention] = {}
        taken: list[tuple[int, int]] = []
        hits = self._hits(full, {t.upper() for t in cashtags})
        for start, end, alias in sorted(hits, key=lambda h: (h[0] - h[1], h[0])):
            if any(start < b and a < end for a, b in taken):
                continue  # inside a longer name found there ("Siemens" in "Siemens Energy")
            taken.append((start, end))
            where: Where = "title" if start < len(head) else "lead" if start < lead_end else "body"
            seen = found.get(alias.instrument)
            if seen is None:
                ins = self.instruments[alias.instrument]
                found[alias.instrument] = Mention(ins, full[start:end], where)
                continue
            seen.count += 1
            if WEIGHT[where] > WEIGHT[seen.where]:
                seen.where = where
        for mention in found.values():
            mention.relevance = min(1.0, WEIGHT[mention.where] + 0.1 * (mention.count - 1))
        return sorted(found.values(), key=lambda m: -m.relevance)

    def _hits(self, full: str, tags: set[str]) -> list[tuple[int, int, _Alias]]:
        """Every alias written as a name in ``full``, those that need context only with it."""
        lower = full.lower()
        context = _Context(full, lower)
        hits: list[tuple[int, int, _Alias]] = []
        doubtful: list[tuple[int, int, _Alias]] = []
        for end, (length, aliases) in self._automaton.iter(lower):
            start = end - length + 1
            written = full[start : end + 1]
            if not _bounded(lower, start, end + 1):
                continue
            for alias in aliases:
                if not _as_name(written, alias):
                    continue
                ins = self.instruments[alias.instrument]
                found = not alias.needs_context or context.has(ins, tags, end + 1)
                (hits if found else doubtful).append((start, end + 1, alias))
        # A doubtful name counts beside a company of its industry ("Visa and Mastercard").
        near = {w for _, _, a in hits for w in self.instruments[a.instrument].sector}
        return hits + [h for h in doubtful if self.instruments[h[2].instrument].sector & near]


class _Context:
    """What makes an ambiguous name a company in one document, looked at only when such a name
    is found (most documents have none)."""

    def __init__(self, full: str, lower: str) -> None:
        self.full = full
        self.lower = lower
        self._market: bool | None = None
        self._words: set[str] | None = None

    def has(self, ins: Instrument, tags: set[str], after: int) -> bool:
        """Whether the document gives ``ins``, named just before ``after``, its context."""
        if self._market is None:
            self._market = _MARKET.search(self.full) is not None
        if self._market or ins.ticker in tags:
            return True
        if _SUFFIX_AFTER.match(self.full, after) or _MOVE.match(self.full, after):
            return True
        if self._words is None:
            self._words = set(re.findall(r"[a-z0-9]{2,}", self.lower))
        return bool(ins.sector & self._words)


def _as_name(written: str, alias: _Alias) -> bool:
    """``written`` as a name is written: exactly as a short or capitals alias; else with a
    capital letter or a digit somewhere ("Apple", "easyJet", "3i"), not "apple"."""
    if alias.exact:
        return written == alias.text
    return written != written.lower() or written[0].isdigit()


def _folded(name: str) -> str:
    """``name`` without accents ("Nestlé" → "Nestle")."""
    return "".join(c for c in unicodedata.normalize("NFKD", name) if not unicodedata.combining(c))


def _bounded(text: str, start: int, end: int) -> bool:
    """The match is a whole word (or words) of the text."""
    before = text[start - 1] if start > 0 else " "
    after = text[end] if end < len(text) else " "
    return not (before.isalnum() or before in "$@#_") and not (after.isalnum() or after == "_")


def _lead_length(text: str) -> int:
    """The length of the text's first sentence (at most 300 characters)."""
    found = _SENTENCE_END.search(text, 0, 300)
    return found.start() if found else min(len(text), 300)


class WatchedLinker:
    """An EntityLinker rebuilt when its watchlist file changes (looked at every ``every_s``):
    an operator edits the file, the next documents are linked with it, no restart."""

    def __init__(self, watchlist: Path | None, *, every_s: float = 5.0) -> None:
        self.path = watchlist
        self.every_s = every_s
        self._base = merged(package_instruments(), read_watchlist(ALIASES))
        self._lock = threading.Lock()
        self._stamp: float | None = None
        self._checked = 0.0
        self.linker = self._build()  # a bad watchlist fails here, at start

    def _mtime(self) -> float | None:
        if self.path is None:
            return None
        try:
            return os.stat(self.path).st_mtime
        except OSError:
            return None

    def _build(self) -> EntityLinker:
        self._stamp = self._mtime()
        extra = read_watchlist(self.path) if self.path is not None else Watchlist()
        return EntityLinker(merged(self._base, extra))

    def current(self) -> EntityLinker:
        """The linker, rebuilt first if the watchlist changed; a change that does not read
        keeps the last good one (and says why in the log)."""
        now = time.monotonic()
        if self.path is None or now - self._checked < self.every_s:
            return self.linker
        with self._lock:
            self._checked = now
            if self._mtime() != self._stamp:
                try:
                    self.linker = self._build()
                    log.warning("watchlist %s reloaded: %d instruments", self.path,
                                len(self.linker.instruments))  # fmt: skip
                except ModelError as exc:
                    log.error("%s; linking goes on with the last good watchlist", exc)
        return self.linker

    def link(self, title: str | None, text: str, cashtags: Iterable[str] = ()) -> list[Mention]:
        """``EntityLinker.link`` with the current watchlist."""
        return self.current().link(title, text, cashtags)


HEADLINES = Path(__file__).resolve().parent.parent / "data" / "entity_headlines.jsonl"


class LinkingScore(BaseModel):
    """Entity linking against a labelled set: micro precision, recall and F1 over tickers."""

    documents: int
    expected: int
    found: int
    correct: int
    precision: float
    recall: float
    f1: float
    min_relevance: float
    # The documents where found ≠ expected: text, missed and wrong tickers.
    errors: list[dict[str, Any]]


def read_labelled(path: Path) -> list[tuple[str | None, str, set[str]]]:
    """(title, text, expected tickers) per line of a JSONL file with ``text``, ``tickers`` and
    optionally ``title``; a bad line raises ModelError naming it."""
    rows = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ModelError(f"cannot read {path}: {exc.strerror}") from exc
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = orjson.loads(line)
            tickers = {str(t).upper() for t in row.get("tickers") or []}
            rows.append((row.get("title"), str(row["text"]), tickers))
        except (orjson.JSONDecodeError, KeyError, TypeError, AttributeError) as exc:
            raise ModelError(f"{path}:{number}: needs a JSON object with text and tickers") from exc
    return rows


def score_linking(
    linker: EntityLinker, rows: Iterable[tuple[str | None, str, set[str]]], min_relevance: float
) -> LinkingScore:
    """How well ``linker`` finds the expected tickers at ``min_relevance``."""
    expected = found = correct = documents = 0
    errors = []
    for title, text, gold in rows:
        documents += 1
        got = {m.instrument.ticker for m in linker.link(title, text)
               if m.relevance >= min_relevance}  # fmt: skip
        expected, found, correct = expected + len(gold), found + len(got), correct + len(gold & got)
        if got != gold:
            errors.append({"text": text, "missed": sorted(gold - got), "wrong": sorted(got - gold)})
    precision = correct / found if found else 1.0
    recall = correct / expected if expected else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return LinkingScore(
        documents=documents, expected=expected, found=found, correct=correct,
        precision=round(precision, 4), recall=round(recall, 4), f1=round(f1, 4),
        min_relevance=min_relevance, errors=errors,
    )  # fmt: skip
