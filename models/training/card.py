"""The model card, as JSON (for machines) and Markdown (for people)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from models.serving.card import CARD_JSON, ModelCard

LICENCES = {
    "financial_phrasebank": "CC BY-NC-SA 3.0 (non-commercial)",
    "twitter_financial_news_sentiment": "MIT",
    "twitter_financial_news_topic": "MIT",
    "semeval2017_task5_headlines": "not stated (research/evaluation only)",
    "fiqa2018_task1_posts": "not stated (research/evaluation only)",
}


def licence_of(path: str) -> str:
    """The licence of a labelled file, from the name of its dataset folder."""
    for name, licence in LICENCES.items():
        if name in path:
            return licence
    return "unknown: see the dataset's README"


def _table(rows: list[list[str]]) -> str:
    head, *body = rows
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(r) + " |" for r in body]
    return "\n".join(lines)


def markdown(card: dict[str, Any]) -> str:
    """A readable card: what it is, what it was trained on (with licences), how good, how fast."""
    data = card["data"]
    files = [*data["sentiment_train"], *data["topic_train"]]
    metrics = [["dev set", "n", "accuracy", "macro-F1"]] + [
        [name, str(m["n"]), f"{m['accuracy']:.4f}", f"{m['macro_f1']:.4f}"]
        for name, m in card.get("dev_metrics", {}).items()
    ]
    speed = [["variant", "docs/s", "batch", "threads"]] + [
        [name, f"{s['docs_per_s']:.0f}", str(s["batch"]), str(s["threads"])]
        for name, s in card.get("speed", {}).items()
    ]
    parts = [
        f"# undertow model {card['version']}",
        f"Base encoder: `{card['base_name']}`. One encoder pass gives sentiment "
        f"({', '.join(card['sentiment_labels'])}) and one of {len(card['topic_labels'])} topics.",
        f"Created {card['created_at']} from code {card['code_version']}.",
        "## Training data",
        _table(
            [["file", "sha256", "licence"]]
            + [[f["path"], f["sha256"][:16] + "…", licence_of(f["path"])] for f in files]
        ),
        "Training on CC BY-NC-SA data makes these weights fit for non-commercial use only, "
        "unless a commercial licence for that data is obtained."
        if any("financial_phrasebank" in f["path"] for f in files)
        else "",
        "## Quality (dev splits; the held-out test splits are not available here)",
        _table(metrics),
        "## Speed (model only, 2 CPU cores of the machine that trained it)",
        _table(speed) if len(speed) > 1 else "not measured",
        "## Notes",
        "\n".join(f"- {note}" for note in card.get("notes", [])) or "none",
        "## Reproduce",
        f"```\n{card['command']}\n```",
        "## Hyperparameters",
        f"```json\n{json.dumps(card['hyperparameters'], indent=2)}\n```",
    ]
    return "\n\n".join(p for p in parts if p) + "\n"


def write(directory: Path, card: dict[str, Any]) -> None:
    """Write card.json and card.md (validated as a ModelCard first: serving reads it back)."""
    (directory / CARD_JSON).write_text(ModelCard.model_validate(card).as_json())
    (directory / "card.md").write_text(markdown(card))
