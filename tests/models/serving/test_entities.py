"""Entity linking: company names in text → instruments, with ambiguity and a live watchlist."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from models.exceptions import ModelError
from models.serving.entities import (
    HEADLINES,
    EntityLinker,
    Instrument,
    WatchedLinker,
    read_labelled,
    score_linking,
)
from models.serving.tickers import cashtags


@pytest.fixture(scope="module")
def linker() -> EntityLinker:
    return WatchedLinker(None).linker


def tickers(linker: EntityLinker, text: str, title: str | None = None) -> list[str]:
    return [m.instrument.ticker for m in linker.link(title, text) if m.relevance >= 0.6]


def test_the_labelled_headlines_are_found_with_precision_and_recall_of_at_least_0_9(
    linker: EntityLinker,
) -> None:
    rows = read_labelled(HEADLINES)
    assert len(rows) >= 100 and sum(1 for _, _, gold in rows if gold) >= 100
    assert not any(cashtags(text) for _, text, _ in rows)  # no cashtags to lean on
    result = score_linking(linker, rows, 0.6)
    assert result.precision >= 0.9 and result.recall >= 0.9, result.errors


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Tesco share price down as grocer faces SFO investigation", ["TSCO"]),
        ("Siemens Energy seeks state guarantees for wind unit", ["ENR.DE"]),  # not Siemens
        ("Morgan Stanley cuts price target on Nvidia", ["MS", "NVDA"]),  # not Stanley Black
        ("Nestle lowers sales growth outlook", ["NESN"]),  # "Nestlé" without its accent
        ("easyJet swings to profit on strong summer", ["EZJ"]),
        ("Apple's iPhone sales slow in China", ["AAPL"]),
        ("BP and HSBC lead the FTSE 100 lower", ["BP", "HSBC"]),
    ],
)
def test_names_as_news_writes_them(linker: EntityLinker, text: str, expected: list[str]) -> None:
    assert sorted(tickers(linker, text)) == sorted(expected)


@pytest.mark.parametrize(
    "text",
    [
        "I baked an apple pie for the Target audience next week",
        "Next week the Fed meets again",
        "The shell of the building survived the fire",
        "Visa rules tightened for foreign students",
        "we hit our target, shell out for apple juice",  # lower case: not names
        "Carnival in Rio draws record crowds",
    ],
)
def test_common_words_are_not_companies_without_context(linker: EntityLinker, text: str) -> None:
    assert tickers(linker, text) == []


def test_a_common_word_name_counts_with_context(linker: EntityLinker) -> None:
    assert tickers(linker, "Next raises full-year profit guidance") == ["NXT"]
    assert tickers(linker, "Shell sells Nigerian onshore oil assets") == ["SHEL"]  # its sector
    assert tickers(linker, "Target falls 5% in early trade") == ["TGT"]  # a move right after
    assert sorted(tickers(linker, "Visa and Mastercard agree to cut swipe fees")) == ["MA", "V"]


def test_relevance_follows_where_and_how_often_a_company_is_named(linker: EntityLinker) -> None:
    body = "Markets were mixed. Later in the day Unilever said it would review brands."
    [body_only] = linker.link(None, body)
    assert (body_only.where, body_only.relevance) == ("body", 0.5)  # below the 0.6 default
    [titled] = linker.link("Unilever to review brands", body)
    assert (titled.where, titled.count, titled.relevance) == ("title", 2, 1.0)
    assert titled.as_dict()["isin"] == "GB00B10RZP78"


def write(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")
    stamp = time.time() + 1  # a new mtime even within the filesystem's resolution
    os.utime(path, (stamp, stamp))


def test_the_watchlist_adds_overrides_and_disables_and_reloads_without_restart(
    tmp_path: Path,
) -> None:
    watchlist = tmp_path / "watchlist.yaml"
    write(watchlist, """instruments:
  - {ticker: ACME, name: Acme Widgets plc, aliases: [Acme], exchange: LSE}
  - {ticker: GSK, aliases: [Glaxo Wellcome]}
  - {ticker: TSCO, disabled: true}
""")  # fmt: skip
    linked = WatchedLinker(watchlist, every_s=0.0)
    assert tickers(linked.linker, "Acme Widgets shares fall on profit warning") == ["ACME"]
    assert tickers(linked.linker, "Glaxo Wellcome merger talks revived") == ["GSK"]
    assert tickers(linked.linker, "Tesco shares fall") == []
    write(watchlist, "instruments:\n- {ticker: ACME, aliases: [Roadrunner], needs_context: yes}\n")
    assert tickers(linked.current(), "Tesco shares fall") == ["TSCO"]  # re-enabled by the edit
    assert tickers(linked.current(), "Roadrunner sightings up") == []  # needs context
    assert tickers(linked.current(), "Roadrunner shares jump") == ["ACME"]
    write(watchlist, "instruments:\n  - {ticker: 'no spaces', name: x}\n")
    assert tickers(linked.current(), "Roadrunner shares jump") == ["ACME"]  # last good kept


def test_a_bad_watchlist_fails_at_start_naming_the_key(tmp_path: Path) -> None:
    watchlist = tmp_path / "watchlist.yaml"
    write(watchlist, "instruments:\n  - {ticker: ACME, isin: not-an-isin}\n")
    with pytest.raises(ModelError, match=r"instruments\.0\.isin"):
        WatchedLinker(watchlist)
    with pytest.raises(ModelError, match="cannot read"):
        WatchedLinker(tmp_path / "missing.yaml")


def test_every_mention_in_a_long_document_is_counted() -> None:
    linker = EntityLinker([Instrument("ACME", "Acme plc")])
    text = "Acme shares rose. " * 1100
    [mention] = linker.link(None, text)
    assert mention.count == 1100 and mention.relevance == 1.0
