"""`undertow written-data`: trader posts and headlines written for undertow, as training rows."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

from models.serving.labels import SENTIMENT_LABELS
from models.training import card as card_io
from models.training.datasets import read_labelled
from tests.models.commands import undertow_with_registry as _run

CASHTAG = re.compile(r"\$[A-Za-z]{2,4}\b")


def test_the_command_writes_a_training_file_the_trainer_reads(tmp_path: Path) -> None:
    out = tmp_path / "written.csv"
    done = _run(tmp_path / "registry", "written-data", "--out", str(out), "--count", "600")
    assert done.returncode == 0, done.stderr
    assert "600 written sentiment rows" in done.stderr
    rows = read_labelled([out], SENTIMENT_LABELS)
    assert len(rows.texts) == len(set(rows.texts)) == 600
    counts = rows.counts(SENTIMENT_LABELS)
    # Mostly polar, as traders are, with some neutral rows so the model does not learn that a
    # cashtag means an opinion.
    assert counts["positive"] > 150 and counts["negative"] > 150
    assert 20 < counts["neutral"] < counts["positive"]
    posts = [t for t in rows.texts if CASHTAG.search(t)]
    headlines = [t for t in rows.texts if not CASHTAG.search(t)]
    assert len(posts) > 300 and len(headlines) > 100
    pairs = zip(rows.texts, rows.labels, strict=True)
    by_kind = Counter((bool(CASHTAG.search(t)), SENTIMENT_LABELS[y]) for t, y in pairs)
    assert all(by_kind[(kind, label)] > 0 for kind in (True, False) for label in SENTIMENT_LABELS)


def test_the_same_seed_writes_the_same_rows(tmp_path: Path) -> None:
    files = []
    for name, seed in (("a", "5"), ("b", "5"), ("c", "6")):
        files.append(tmp_path / f"{name}.csv")
        done = _run(tmp_path, "written-data", "--out", str(files[-1]), "--count", "50",
                    "--seed", seed)  # fmt: skip
        assert done.returncode == 0, done.stderr
    a, b, c = (f.read_text() for f in files)
    assert a == b
    assert a != c


def test_event_headlines_are_added_only_when_asked_for(tmp_path: Path) -> None:
    plain, events = tmp_path / "written.csv", tmp_path / "written-events.csv"
    for out, share in ((plain, "0"), (events, "0.5")):
        done = _run(tmp_path, "written-data", "--out", str(out), "--count", "400",
                    "--events", share)  # fmt: skip
        assert done.returncode == 0, done.stderr
    # The default writes what it wrote before the option existed, so a card's recipe holds.
    default = tmp_path / "default.csv"
    assert _run(tmp_path, "written-data", "--out", str(default), "--count", "400").returncode == 0
    assert default.read_text() == plain.read_text()
    rows = read_labelled([events], SENTIMENT_LABELS)
    labelled = dict(zip(rows.texts, (SENTIMENT_LABELS[y] for y in rows.labels), strict=True))
    deals = [t for t, label in labelled.items() if re.search(r"(?i)\b(to buy|acquire)\b", t)]
    exits = [t for t in labelled if re.search(r"(?i)\b(steps? down|quits)\b", t)]
    assert deals and exits
    # A deal is good news for the buyer; a chief leaving is bad news, whatever the casing.
    assert {labelled[t] for t in deals} == {"positive"}
    assert {labelled[t] for t in exits} == {"negative"}
    # Posts and the other headlines are still there, in a smaller share.
    assert sum(bool(CASHTAG.search(t)) for t in rows.texts) > 100
    done = _run(tmp_path, "written-data", "--out", str(tmp_path / "x.csv"), "--events", "1")
    assert done.returncode == 2
    assert "--events" in done.stderr


def test_a_bad_count_is_refused(tmp_path: Path) -> None:
    done = _run(tmp_path, "written-data", "--out", str(tmp_path / "x.csv"), "--count", "0")
    assert done.returncode == 2
    assert "--count" in done.stderr
    assert not (tmp_path / "x.csv").exists()


def test_the_card_names_the_licence_of_written_rows() -> None:
    card = {
        "version": "v", "base_name": "b", "sentiment_labels": SENTIMENT_LABELS,
        "topic_labels": ["t"], "max_length": 8,
        "data": {"sentiment_train": [
            {"path": ".undertow/data/written.csv", "sha256": "0" * 64},
            {"path": "$UNDERTOW_DATA_DIR/financial_phrasebank/train.csv", "sha256": "1" * 64},
        ]},
    }  # fmt: skip
    rows = [line for line in card_io.markdown(card).splitlines() if line.startswith("| ")]
    assert any("written.csv" in r and "Apache-2.0" in r for r in rows)
    assert any("financial_phrasebank" in r and "non-commercial" in r for r in rows)
