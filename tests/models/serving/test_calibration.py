"""Temperature scaling: the fit finds a known over-confidence, labels never change, the Scorer
applies what the card says."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from models.serving.calibration import (
    apply,
    calibrate,
    ece,
    fit_temperature,
    min_prob_for_precision,
)
from models.serving.scorer import Scorer

TEXTS = ["shares slump after awful quarter", "fed holds rates steady", "oil soars"]


def _softmax(logits: np.ndarray) -> np.ndarray:
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    out: np.ndarray = e / e.sum(axis=1, keepdims=True)
    return out


def _overconfident(n: int = 4000, sharpen: float = 2.5) -> tuple[np.ndarray, np.ndarray]:
    """Labels drawn from softmax(logits), probabilities reported as softmax(sharpen * logits)."""
    rng = np.random.default_rng(7)
    logits = rng.normal(0, 1.5, size=(n, 3))
    true = _softmax(logits)
    labels = np.array([rng.choice(3, p=p) for p in true])
    return _softmax(logits * sharpen).astype(np.float32), labels


def test_the_fit_finds_the_over_confidence_and_lowers_the_calibration_error() -> None:
    probs, labels = _overconfident()
    assert fit_temperature(probs, labels) == pytest.approx(2.5, rel=0.1)
    fitted = calibrate(probs, labels, ["synthetic"])
    assert fitted.temperature == pytest.approx(2.5, rel=0.1)
    assert fitted.ece_after is not None and fitted.ece_before is not None
    assert fitted.nll_after is not None and fitted.nll_before is not None
    assert fitted.ece_after < fitted.ece_before / 3
    assert fitted.nll_after < fitted.nll_before


def test_a_calibrated_model_keeps_temperature_one() -> None:
    probs, labels = _overconfident(sharpen=1.0)
    fitted = calibrate(probs, labels)
    assert fitted.temperature == 1.0 or abs(fitted.temperature - 1) < 0.1
    assert ece(probs, labels) < 0.05


def test_scaling_keeps_every_label_and_sums_to_one() -> None:
    probs, _ = _overconfident(500)
    for temperature in (0.5, 1.7, 10.0):
        scaled = apply(probs, temperature)
        assert (scaled.argmax(axis=1) == probs.argmax(axis=1)).all()
        assert np.allclose(scaled.sum(axis=1), 1, atol=1e-5)


def test_too_few_rows_are_refused() -> None:
    probs, labels = _overconfident(10)
    with pytest.raises(ValueError, match="too few"):
        calibrate(probs, labels)


def test_the_scorer_applies_the_cards_temperatures(tiny_dir: Path, tmp_path: Path) -> None:
    model = shutil.copytree(tiny_dir, tmp_path / "calibrated")
    card = json.loads((model / "card.json").read_text())
    card["calibration"] = {"sentiment": {"temperature": 4.0}, "topic": {"temperature": 2.0}}
    (model / "card.json").write_text(json.dumps(card))
    raw = Scorer(model, calibrate=False).score(TEXTS)
    calibrated = Scorer(model).score(TEXTS)
    for r, c in zip(raw, calibrated, strict=True):
        assert (r.sentiment, r.topic) == (c.sentiment, c.topic)
        assert max(c.sentiment_probs.values()) < max(r.sentiment_probs.values())
        assert c.topic_confidence < r.topic_confidence
        assert abs(sum(c.sentiment_probs.values()) - 1) < 1e-4
    uncalibrated = Scorer(tiny_dir).score(TEXTS)
    assert [u.sentiment_probs for u in uncalibrated] == [r.sentiment_probs for r in raw]


def test_the_negative_threshold_reaches_the_precision_asked_for() -> None:
    probs, labels = _overconfident(3000)
    for target in (0.6, 0.8):
        found = min_prob_for_precision(probs, labels, 0, target)
        assert found is not None and found["precision"] >= target
        called = probs[:, 0] >= found["min_prob"]
        assert (labels[called] == 0).mean() >= target - 1e-9
        assert found["recall"] == pytest.approx(
            (called & (labels == 0)).sum() / (labels == 0).sum(), abs=1e-3
        )
    assert min_prob_for_precision(probs, np.zeros_like(labels) + 1, 0, 0.5) is None


def test_a_negative_below_the_minimum_probability_takes_its_next_label(tiny_dir: Path) -> None:
    [raw] = Scorer(tiny_dir).score(["shares slump after awful quarter"])
    assert raw.sentiment == "negative"
    p = raw.sentiment_probs["negative"]
    [sure] = Scorer(tiny_dir, negative_min_prob=p - 0.01).score(
        ["shares slump after awful quarter"]
    )
    assert sure.sentiment == "negative"
    [unsure] = Scorer(tiny_dir, negative_min_prob=min(0.99, p + 0.01)).score(
        ["shares slump after awful quarter"]
    )
    others = {k: v for k, v in raw.sentiment_probs.items() if k != "negative"}
    assert unsure.sentiment == max(others, key=lambda k: others[k])
    assert unsure.sentiment_probs == raw.sentiment_probs  # only the label moves
