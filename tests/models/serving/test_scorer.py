"""The Scorer: order kept, padding harmless, batching contract, provider and variant choice."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest

from models.exceptions import ModelError
from models.serving.scorer import CPU, CUDA, Scorer
from tests.models.tiny import build

TEXTS = [
    "shares slump after awful quarter",
    "fed holds rates steady",
    "oil soars",
    "the company beats earnings on a great quarter and the stock soars today on the news",
    "dividend",
    "",
]


def test_labels_follow_the_words(tiny_dir: Path) -> None:
    scores = Scorer(tiny_dir).score(TEXTS[:3])
    assert [s.sentiment for s in scores] == ["negative", "neutral", "positive"]
    assert [s.topic for s in scores] == ["Earnings", "Fed | Central Banks", "Energy | Oil"]
    for s in scores:
        probs = s.sentiment_probs
        assert abs(sum(probs.values()) - 1) < 1e-4
        assert s.sentiment_score == pytest.approx(probs["positive"] - probs["negative"], abs=1e-5)
        assert -1 <= s.sentiment_score <= 1
        assert s.model_version == "tiny-1"


def test_results_keep_input_order_and_do_not_depend_on_batch_mates(tiny_dir: Path) -> None:
    scorer = Scorer(tiny_dir, max_batch=2, variant="fp32")
    together = scorer.score(TEXTS)
    alone = [scorer.score([t])[0] for t in TEXTS]
    assert together == alone  # padding to a longer neighbour changes nothing


def test_int8_batch_mates_move_probabilities_only_slightly(tiny_dir: Path) -> None:
    # Dynamic quantization scales activations per batch, so neighbours matter a little.
    scorer = Scorer(tiny_dir, max_batch=2, variant="int8")
    together = scorer.score(TEXTS)
    alone = [scorer.score([t])[0] for t in TEXTS]
    assert [s.sentiment for s in together] == [s.sentiment for s in alone]
    assert [s.topic for s in together] == [s.topic for s in alone]
    for a, b in zip(together, alone, strict=True):
        assert abs(a.sentiment_score - b.sentiment_score) < 0.01


def test_batches_are_length_sorted_bounded_and_cover_every_text(tiny_dir: Path) -> None:
    scorer = Scorer(tiny_dir, max_batch=4)
    lengths = [7, 3, 9, 1, 5, 5, 2, 8, 4, 6]
    batches = scorer.batches(lengths)
    assert sorted(i for b in batches for i in b) == list(range(len(lengths)))
    assert all(len(b) <= 4 for b in batches)
    flat = [lengths[i] for b in batches for i in b]
    assert flat == sorted(lengths)


def test_pad_pads_to_the_batch_longest_only(tiny_dir: Path) -> None:
    scorer = Scorer(tiny_dir)
    feeds = scorer.pad([[2, 5, 3], [2, 3]])
    assert feeds["input_ids"].shape == (2, 3)
    assert feeds["attention_mask"].tolist() == [[1, 1, 1], [1, 1, 0]]
    assert feeds["input_ids"][1, 2] == scorer.pad_id


def test_long_text_is_truncated_not_rejected(tiny_dir: Path) -> None:
    scorer = Scorer(tiny_dir, max_length=16)
    ids = scorer.encode(["shares " * 500])
    assert len(ids[0]) == 16
    assert scorer.score(["shares " * 500])[0].sentiment == "neutral"


def test_empty_input_gives_empty_output(tiny_dir: Path) -> None:
    assert Scorer(tiny_dir).score([]) == []


def test_cpu_picks_int8_and_reports_the_real_providers(
    tiny_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # What ONNX Runtime offers on a machine without a GPU (the test holds on one with a GPU too).
    monkeypatch.setattr(ort, "get_available_providers", lambda: [CPU])
    scorer = Scorer(tiny_dir, device="auto", threads=1)
    assert scorer.runtime.device == "cpu"
    assert scorer.runtime.variant == "int8"
    assert scorer.runtime.providers == [CPU]
    assert scorer.runtime.threads == 1


def test_variant_choice_falls_back_and_fails_clearly(tmp_path: Path) -> None:
    only_fp32 = build(tmp_path / "fp32only", variants=("fp32",))
    assert Scorer(only_fp32).runtime.variant == "fp32"
    with pytest.raises(ModelError, match="variants"):
        Scorer(only_fp32, variant="fp16")


def test_cuda_requested_without_a_cuda_provider_is_a_clear_error(tiny_dir: Path) -> None:
    if CUDA in ort.get_available_providers():
        pytest.fail("this test describes a CPU-only onnxruntime; run the GPU checks instead")
    with pytest.raises(ModelError, match="no CUDA provider"):
        Scorer(tiny_dir, device="cuda")


def test_silent_cuda_fallback_is_detected(tiny_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """onnxruntime-gpu without CUDA libraries lists CUDA but builds a CPU session."""
    monkeypatch.setattr(ort, "get_available_providers", lambda: [CUDA, CPU])
    scorer = Scorer(tiny_dir, device="auto")
    assert scorer.runtime.device == "cpu"
    assert scorer.runtime.providers == [CPU]
    with pytest.raises(ModelError, match="fell back to CPU"):
        Scorer(tiny_dir, device="cuda")


def test_probabilities_match_a_direct_onnx_run(tiny_dir: Path) -> None:
    scorer = Scorer(tiny_dir, variant="fp32")
    sentiment, _ = scorer.probabilities(["oil soars"])
    session = ort.InferenceSession(str(tiny_dir / "model.onnx"), providers=[CPU])
    feeds = scorer.pad(scorer.encode(["oil soars"]))
    direct = session.run(["sentiment_probs"], feeds)[0]
    np.testing.assert_allclose(sentiment, direct, atol=1e-6)


def test_a_directory_that_is_not_a_model_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="not a model version"):
        Scorer(tmp_path)


def test_gpu_without_a_gpu_variant_scores_on_cpu_unless_cuda_is_demanded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The shipped model carries only INT8; a GPU machine still scores (on CPU) with it."""
    int8_only = build(tmp_path / "int8only", variants=("int8",))
    monkeypatch.setattr(ort, "get_available_providers", lambda: [CUDA, CPU])
    scorer = Scorer(int8_only, device="auto")
    assert (scorer.runtime.device, scorer.runtime.variant) == ("cpu", "int8")
    with pytest.raises(ModelError, match="variants"):
        Scorer(int8_only, device="cuda")


def test_a_long_text_starts_a_smaller_batch(tiny_dir: Path) -> None:
    scorer = Scorer(tiny_dir, max_batch=64, batch_tokens=100)
    lengths = [10] * 8 + [50, 50, 50]
    batches = scorer.batches(lengths)
    assert all(len(b) * max(lengths[i] for i in b) <= 100 for b in batches)
    assert [len(b) for b in batches] == [8, 2, 1]


def test_inference_threads_sleep_between_batches_unless_told_to_spin(tiny_dir: Path) -> None:
    def spinning(scorer: Scorer) -> str:
        options = scorer.session.get_session_options()
        return str(options.get_session_config_entry("session.intra_op.allow_spinning"))

    assert spinning(Scorer(tiny_dir)) == "0"
    assert spinning(Scorer(tiny_dir, spin=True)) == "1"
