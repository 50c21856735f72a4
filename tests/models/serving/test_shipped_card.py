"""The cards of the shipped versions: Hugging Face metadata, five dev figures, calibration,
licences, and nothing of the machine or an uncommitted tree."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from models.serving.card import ModelCard
from models.serving.registry import SHIPPED_DIR

SHIPPED = sorted(p for p in SHIPPED_DIR.iterdir() if p.is_dir())
FIVE = {
    "twitter_financial_news_sentiment",
    "financial_phrasebank",
    "twitter_financial_news_topic",
    "semeval2017_task5_headlines",
    "fiqa2018_task1_posts",
}


@pytest.mark.parametrize("version", SHIPPED, ids=lambda p: p.name)
def test_the_card_carries_hugging_face_metadata_and_the_five_dev_figures(version: Path) -> None:
    text = (version / "card.md").read_text()
    assert text.startswith("---\n")
    meta = yaml.safe_load(text.split("---\n")[1])
    card = ModelCard.read(version)
    data = json.loads((version / "card.json").read_text())["data"]
    trained_on_phrasebank = any(
        "financial_phrasebank" in f["path"] for files in data.values() for f in files
    )
    assert meta["license"] == ("cc-by-nc-sa-3.0" if trained_on_phrasebank else "mit")
    assert meta["base_model"] == "sentence-transformers/all-MiniLM-L6-v2"
    results = meta["model-index"][0]["results"]
    assert {r["dataset"]["name"] for r in results} == FIVE
    for result in results:
        values = {m["type"]: m["value"] for m in result["metrics"]}
        assert 0 < values["accuracy"] <= 1 and 0 < values["f1"] <= 1
    for section in ("## Intended use", "## Limitations", "## Calibration", "## Training data"):
        assert section in text
    assert "non-commercial" in text.split("## Limitations")[1].split("##")[0]
    assert set(card.calibration) == {"sentiment", "topic"}
    assert set(card.reference) == {"sentiment", "topic"}
    assert abs(sum(card.reference["sentiment"]["shares"].values()) - 1) < 0.01
    thresholds = json.loads((version / "card.json").read_text())["negative_thresholds"]
    assert thresholds["0.8"]["precision"] >= 0.8 and "Negative by probability" in text
    for task in card.calibration.values():
        assert task.ece_before is not None and task.ece_after is not None


@pytest.mark.parametrize("version", SHIPPED, ids=lambda p: p.name)
def test_the_card_names_no_path_of_the_machine_nor_an_uncommitted_tree(version: Path) -> None:
    card = ModelCard.read(version)
    assert card.code_version is not None
    assert re.fullmatch(r"[0-9a-f]{7,40}", card.code_version)
    for name in ("card.json", "card.md"):
        text = (version / name).read_text()
        assert not re.search(r"(?<![\w.$])/(?:work|home|root|tmp|usr)/", text), name
        assert "../shared" not in text and "site-packages" not in text, name
