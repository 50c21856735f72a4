"""`undertow train --feedback DIR`: analysts' corrections change what the model answers, and the
card says how many of which labels went in."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import torch
from transformers import AutoTokenizer

from models.serving.labels import SENTIMENT_LABELS
from models.serving.provenance import default_base
from models.serving.scorer import Scorer
from models.training.network import TwoHeadClassifier
from tests.models.commands import undertow_with_registry as _run

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
DATA = [
    "--sentiment-train", str(FIXTURES / "twitter_financial_news_sentiment" / "train.csv"),
    "--topic-train", str(FIXTURES / "twitter_financial_news_topic" / "train.csv"),
    "--sentiment-dev", str(FIXTURES / "twitter_financial_news_sentiment" / "dev.csv"),
    "--topic-dev", str(FIXTURES / "twitter_financial_news_topic" / "dev.csv"),
    "--epochs", "2", "--limit", "32", "--batch-size", "16", "--seed", "3",
]  # fmt: skip
# Written for this test.
TEXT = "Acme Corp raises its dividend for the tenth straight year"


def _sentiment_probs(checkpoint: Path, text: str) -> list[float]:
    model, _ = TwoHeadClassifier.load(checkpoint)
    model.eval()
    tokenizer = AutoTokenizer.from_pretrained(str(checkpoint))
    enc = tokenizer([text], return_tensors="pt")
    with torch.no_grad():
        sentiment, _ = model(enc["input_ids"], enc["attention_mask"])
    return [float(p) for p in torch.softmax(sentiment, dim=-1)[0]]


def test_a_correction_changes_the_models_answer_and_is_in_the_card(tmp_path: Path) -> None:
    registry = tmp_path / "registry"
    done = _run(registry, "train", "--base", str(default_base()), *DATA, "--no-export",
                "--out", str(tmp_path / "before"))  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    before = _sentiment_probs(tmp_path / "before", TEXT)
    # The analyst says the answer the model finds least likely.
    corrected = SENTIMENT_LABELS[before.index(min(before))]
    feedback = tmp_path / "feedback"
    feedback.mkdir()
    with (feedback / "sentiment.csv").open("w", newline="") as handle:
        csv.writer(handle).writerows([("text", "label", "id", "by"),
                                      (TEXT, corrected, "doc-1", "analyst:a1")])  # fmt: skip
    (feedback / "topic.csv").write_text("text,label,id,by\n")  # no topic corrections
    done = _run(registry, "train", "--base", str(default_base()), *DATA, "--feedback",
                str(feedback), "--feedback-weight", "40", "--version", "corrected")  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    after = Scorer(registry / "corrected").score([TEXT])[0]
    assert after.sentiment == corrected != SENTIMENT_LABELS[before.index(max(before))]
    card = json.loads((registry / "corrected" / "card.json").read_text())
    assert card["feedback"]["weight"] == 40
    assert card["feedback"]["sentiment"] == {corrected: 1}
    assert card["feedback"]["topic"] == {}
    assert f"{corrected} 1" in (registry / "corrected" / "card.md").read_text()
