"""`undertow evaluate`, `promote` and `bench --model-only` as an operator runs them."""

from __future__ import annotations

import csv
import json
import subprocess
from pathlib import Path

import pytest

from models.serving.labels import SENTIMENT_LABELS
from models.training.datasets import read_labelled
from tests.models.commands import undertow_with_registry as _run

ROWS = [
    ("shares slump after awful quarter", "negative"),
    ("stock misses on bad news", "negative"),
    ("oil soars on great demand", "positive"),
    ("company beats earnings", "positive"),
    ("fed holds rates steady", "neutral"),
    ("market flat today", "neutral"),
]


@pytest.fixture
def eval_csv(tmp_path: Path) -> Path:
    path = tmp_path / "sentiment.csv"
    lines = ["text,label"] + [f'"{t}",{label}' for t, label in ROWS]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_evaluate_json_last_line(registry_dir: Path, eval_csv: Path) -> None:
    done = _run(registry_dir, "evaluate", "--task", "sentiment", "--data", str(eval_csv),
                "--model", "tiny-good", "--json")  # fmt: skip
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["task"] == "sentiment"
    assert result["n"] == len(ROWS)
    assert result["accuracy"] == 1.0
    assert result["macro_f1"] == 1.0
    assert set(result["per_class"]) == {"negative", "neutral", "positive"}

    worse = _run(registry_dir, "evaluate", "--task", "sentiment", "--data", str(eval_csv),
                 "--model", "tiny-bad", "--json")  # fmt: skip
    assert json.loads(worse.stdout.strip().splitlines()[-1])["accuracy"] == pytest.approx(
        2 / 6, abs=1e-3
    )


def test_evaluate_names_a_label_the_model_does_not_know(registry_dir: Path, tmp_path: Path) -> None:
    path = tmp_path / "odd.csv"
    path.write_text("text,label\noil soars,bullish\n")
    done = _run(registry_dir, "evaluate", "--task", "sentiment", "--data", str(path),
                "--model", "tiny-good")  # fmt: skip
    assert done.returncode == 1
    assert "'bullish'" in done.stderr


def test_soft_labels_writes_the_models_probabilities_beside_every_column(
    registry_dir: Path, tmp_path: Path
) -> None:
    data = tmp_path / "news.csv"
    lines = ["text,label,source"] + [f'"{t}",{label},wire' for t, label in ROWS]
    data.write_text("\n".join(lines) + "\n")
    out = tmp_path / "taught" / "news.csv"  # its folder is made
    done = _run(registry_dir, "soft-labels", "--task", "sentiment", "--data", str(data),
                "--out", str(out), "--model", "tiny-good")  # fmt: skip
    assert done.returncode == 0, done.stderr
    with out.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["text"], r["label"], r["source"]) for r in rows] == [
        (t, label, "wire") for t, label in ROWS
    ]
    columns = [f"p_{name}" for name in SENTIMENT_LABELS]
    for row in rows:
        probs = [float(row[c]) for c in columns]
        assert sum(probs) == pytest.approx(1.0, abs=1e-4)
        # tiny-good gets every row right: its most likely label is the gold one.
        assert SENTIMENT_LABELS[probs.index(max(probs))] == row["label"]
    # Training reads them back as soft targets.
    assert all(q is not None for q in read_labelled([out], SENTIMENT_LABELS).soft)

    inverted = _run(registry_dir, "soft-labels", "--task", "sentiment", "--data", str(out),
                    "--out", str(tmp_path / "again.csv"), "--model", "tiny-bad")  # fmt: skip
    assert inverted.returncode == 0, inverted.stderr
    with (tmp_path / "again.csv").open(newline="") as handle:
        again = list(csv.DictReader(handle))
    # The old p_* columns were replaced, not repeated, and hold the other model's figures.
    assert list(again[0]) == ["text", "label", "source", *columns]
    assert [r["p_positive"] for r in again] != [r["p_positive"] for r in rows]


def _soft_labels(
    registry_dir: Path, data: Path, out: Path, *extra: str
) -> subprocess.CompletedProcess[str]:
    """`undertow soft-labels` for sentiment with tiny-good."""
    return _run(registry_dir, "soft-labels", "--task", "sentiment", "--data", str(data),
                "--out", str(out), "--model", "tiny-good", *extra)  # fmt: skip


def _labels(path: Path) -> list[str]:
    with path.open(newline="") as handle:
        return [r["label"] for r in csv.DictReader(handle)]


def test_soft_labels_labels_unlabelled_text_with_the_models_own_choice(
    registry_dir: Path, tmp_path: Path
) -> None:
    # No label column at all: every row gets tiny-good's (correct) label and its probabilities.
    bare = tmp_path / "tweets.csv"
    bare.write_text("id,text\n" + "".join(f'{i},"{t}"\n' for i, (t, _) in enumerate(ROWS)))
    out = tmp_path / "transfer.csv"
    done = _soft_labels(registry_dir, bare, out)
    assert done.returncode == 0, done.stderr
    with out.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0])[:3] == ["id", "text", "label"]
    assert [(r["id"], r["text"], r["label"]) for r in rows] == [
        (str(i), t, label) for i, (t, label) in enumerate(ROWS)
    ]
    assert all(q is not None for q in read_labelled([out], SENTIMENT_LABELS).soft)

    # A gold label is kept even where the model disagrees; only empty ones are filled in.
    mixed = tmp_path / "mixed.csv"
    mixed.write_text('text,label\n"shares slump after awful quarter",positive\n"oil soars",\n')
    done = _soft_labels(registry_dir, mixed, tmp_path / "mixed-out.csv")
    assert done.returncode == 0, done.stderr
    assert _labels(tmp_path / "mixed-out.csv") == ["positive", "positive"]

    # Text labelled for the other task: refused as it is, relabelled with --relabel.
    topical = tmp_path / "topics.csv"
    topical.write_text('text,label\n"oil soars",Energy | Oil\n"stock misses",Stock Movement\n')
    refused = _soft_labels(registry_dir, topical, tmp_path / "t.csv")
    assert refused.returncode == 1
    assert "'Energy | Oil'" in refused.stderr
    done = _soft_labels(registry_dir, topical, tmp_path / "t.csv", "--relabel")
    assert done.returncode == 0, done.stderr
    assert _labels(tmp_path / "t.csv") == ["positive", "negative"]


def test_soft_labels_refuses_to_overwrite_its_input_or_an_unknown_label(
    registry_dir: Path, eval_csv: Path, tmp_path: Path
) -> None:
    before = eval_csv.read_text()
    same = _run(registry_dir, "soft-labels", "--task", "sentiment", "--data", str(eval_csv),
                "--out", str(eval_csv), "--model", "tiny-good")  # fmt: skip
    assert same.returncode == 2
    assert "--out" in same.stderr
    assert eval_csv.read_text() == before
    odd = tmp_path / "odd.csv"
    odd.write_text("text,label\noil soars,bullish\n")
    unknown = _run(registry_dir, "soft-labels", "--task", "sentiment", "--data", str(odd),
                   "--out", str(tmp_path / "x.csv"), "--model", "tiny-good")  # fmt: skip
    assert unknown.returncode == 1
    assert "'bullish'" in unknown.stderr
    assert not (tmp_path / "x.csv").exists()


def test_promotion_gate_refuses_a_worse_version_and_records_promotions(
    registry_dir: Path, eval_csv: Path
) -> None:
    first = _run(registry_dir, "promote", "tiny-good", "--force", "--reason", "bootstrap")
    assert first.returncode == 0, first.stderr
    refused = _run(registry_dir, "promote", "tiny-bad", "--eval", str(eval_csv))
    assert refused.returncode == 1
    assert "not promoted" in refused.stderr
    assert (registry_dir / "CURRENT").read_text().strip() == "tiny-good"

    forced = _run(registry_dir, "promote", "tiny-bad", "--eval", str(eval_csv), "--force",
                  "--reason", "testing a rollback", "--json")  # fmt: skip
    assert forced.returncode == 0, forced.stderr
    back = _run(registry_dir, "promote", "tiny-good", "--eval", str(eval_csv))
    assert back.returncode == 0, back.stderr

    log = [json.loads(x) for x in (registry_dir / "promotions.jsonl").read_text().splitlines()]
    assert [(p["version"], p["forced"]) for p in log] == [
        ("tiny-good", False),
        ("tiny-bad", True),
        ("tiny-good", False),
    ]
    assert log[1]["reason"] == "testing a rollback"
    assert any("WORSE" in line for line in log[1]["gate"])


def test_promote_without_eval_sets_needs_force(registry_dir: Path) -> None:
    done = _run(registry_dir, "promote", "tiny-good")
    assert done.returncode == 2
    assert "--eval" in done.stderr


def test_bench_model_only_json(registry_dir: Path) -> None:
    _run(registry_dir, "promote", "tiny-good", "--force")
    done = _run(registry_dir, "bench", "--model-only", "--docs", "300", "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["model_only_dps"] > 0
    # The provider the Scorer really got, first: CPU here, CUDA on a machine with a GPU.
    first = {"cpu": "CPUExecutionProvider", "cuda": "CUDAExecutionProvider"}[result["device"]]
    assert result["providers"][0] == first
    assert result["model"]["version"] == "tiny-good"
    assert result["docs"] == 300


def test_bench_without_a_model_says_how_to_get_one(registry_dir: Path) -> None:
    done = _run(registry_dir, "bench")
    assert done.returncode == 1
    assert "undertow promote" in done.stderr
    assert "Traceback" not in done.stderr


def test_bench_refuses_an_unknown_device(registry_dir: Path) -> None:
    done = _run(registry_dir, "bench", "--model-only", "--device", "tpu")
    assert done.returncode == 2
    assert "auto, cpu or cuda" in done.stderr


def _dev_sets(root: Path) -> Path:
    """The three fit sets and one headline set, in the tiny model's words, under ``root``."""
    # The tiny model is 0.9 sure of these texts' labels, which are right 3 times in 5.
    sentiment = [(text, label) for text, right, wrong in (
        ("shares slump awful", "negative", "positive"), ("oil soars great", "positive", "neutral"),
        ("stock misses bad", "negative", "neutral"), ("company beats good", "positive", "negative"),
    ) for label in (right, right, right, wrong, wrong)]  # fmt: skip
    topic = [("fed rates", "Fed | Central Banks"), ("oil price", "Energy | Oil"),
             ("earnings quarter", "Earnings"), ("fed holds", "Fed | Central Banks"),
             ("oil soars", "Earnings")]  # fmt: skip
    files = {
        "twitter_financial_news_sentiment/dev.csv": sentiment * 3,
        "financial_phrasebank/dev.csv": sentiment * 2,
        "twitter_financial_news_topic/dev.csv": topic * 5,
        "semeval2017_task5_headlines/dev.csv": sentiment,
    }
    for rel, rows in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        with (root / rel).open("w", newline="") as handle:
            csv.writer(handle).writerows([("text", "label"), *rows])
    return root


def test_calibrate_writes_temperatures_and_dev_figures_into_the_card(
    registry_dir: Path, tmp_path: Path
) -> None:
    data = _dev_sets(tmp_path / "data")
    done = _run(registry_dir, "models", "calibrate", "--model", "tiny-good", "--data-dir",
                str(data), "--json")  # fmt: skip
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    sentiment = result["calibration"]["sentiment"]
    # The tiny model is sure of itself and wrong on a quarter of the rows: it must cool down.
    assert sentiment["temperature"] > 1.5
    assert sentiment["ece_after"] < sentiment["ece_before"]
    assert set(result["evaluation"]["sets"]) == {
        "sentiment:twitter_financial_news_sentiment/dev.csv",
        "sentiment:financial_phrasebank/dev.csv",
        "topic:twitter_financial_news_topic/dev.csv",
        "sentiment:semeval2017_task5_headlines/dev.csv",
    }
    card_dir = registry_dir / "tiny-good"
    card = json.loads((card_dir / "card.json").read_text())
    assert card["calibration"]["sentiment"]["temperature"] == sentiment["temperature"]
    markdown = (card_dir / "card.md").read_text()
    assert markdown.startswith("---\n") and "model-index:" in markdown
    assert "## Calibration" in markdown and "ECE before" in markdown
    assert str(tmp_path) not in markdown and str(tmp_path) not in json.dumps(card)
    # The next Scorer of that version is calibrated: its confidences are lower.
    done = _run(registry_dir, "evaluate", "--task", "sentiment", "--model", "tiny-good",
                "--data", str(data / "financial_phrasebank/dev.csv"), "--json")  # fmt: skip
    assert json.loads(done.stdout.strip().splitlines()[-1])["ece"] < sentiment["ece_before"]


def test_calibrate_names_the_missing_dev_sets(registry_dir: Path, tmp_path: Path) -> None:
    done = _run(registry_dir, "models", "calibrate", "--model", "tiny-good", "--data-dir",
                str(tmp_path))  # fmt: skip
    assert done.returncode != 0
    assert "financial_phrasebank/dev.csv" in done.stderr.replace("\n", "")
