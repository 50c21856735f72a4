"""Rebuild ``feed.jsonl``, the sample feed ``undertow demo`` replays (run from the repo root:
``python deploy/demo/make_feed.py [DATA_DIR]``).

Text comes only from the MIT-licensed Twitter Financial News Topic set. Background: 2,400 tweets
sampled at random from every class but ``Energy | Oil`` (the oil market was quiet), half as
source ``news`` and half as ``social``, spread over the two hours before the demo starts: enough
that most topics have a baseline of their own (the alert rule wants 30 documents in it). Live:
1,500 other tweets, sent as ordinary traffic while the demo runs (``"live": true``). Burst: 60
tweets of the set's ``Energy | Oil`` class that the shipped model scores clearly negative, all
tagged with the ticker ``ACME`` (a third as news, two thirds as social, as the live traffic is
split), arriving over 90 seconds while the demo runs. ``offset_s`` is seconds relative to the
demo's start (negative: history).
"""

from __future__ import annotations

import csv
import random
import sys
from pathlib import Path

import orjson

from models.serving.registry import SHIPPED_DIR, Registry
from models.serving.scorer import Scorer

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
BACKGROUND, LIVE, BURST, HISTORY_S, BURST_START_S, BURST_S = 2400, 1500, 60, 7200, 20, 90
BURST_TOPIC = "Energy | Oil"  # the burst's class, absent from the history


def main(data_dir: Path) -> None:
    """Write feed.jsonl from ``data_dir``/twitter_financial_news_topic/train.csv."""
    with (data_dir / "twitter_financial_news_topic" / "train.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    rng = random.Random(4)  # noqa: S311 (sampling, not secrets)
    oil = [r["text"] for r in rows if r["label"] == BURST_TOPIC]
    registry = Registry(ROOT / ".undertow" / "none", SHIPPED_DIR)
    scorer = Scorer(registry.current_path(), device="cpu")
    scores = scorer.score(oil)
    negative = [
        t
        for t, s in zip(oil, scores, strict=True)
        if s.sentiment == "negative" and s.sentiment_score < -0.6
    ]
    burst = rng.sample(negative, BURST)
    quiet = [r["text"] for r in rows if r["label"] != BURST_TOPIC]
    background = rng.sample(quiet, BACKGROUND)
    taken = set(burst) | set(background)
    live = rng.sample([r["text"] for r in rows if r["text"] not in taken], LIVE)
    feed = [
        {
            "text": text,
            "source": "news" if i % 2 else "social",
            "offset_s": -HISTORY_S + round(i * HISTORY_S / BACKGROUND, 1),
        }
        for i, text in enumerate(background)
    ]
    feed += [
        {
            "text": text,
            "source": "social" if i % 3 else "news",
            "tickers": ["ACME"],
            "offset_s": BURST_START_S + round(i * BURST_S / BURST, 1),
        }
        for i, text in enumerate(burst)
    ]
    feed.sort(key=lambda d: d["offset_s"])
    feed += [
        {"text": text, "source": "social" if i % 3 else "news", "live": True}
        for i, text in enumerate(live)
    ]
    with (HERE / "feed.jsonl").open("wb") as out:
        for item in feed:
            out.write(orjson.dumps(item) + b"\n")
    print(
        f"feed.jsonl: {len(background)} background + {len(burst)} burst "
        f"(of {len(negative)} clearly negative oil tweets)"
    )


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT.parent / "shared" / "data")
