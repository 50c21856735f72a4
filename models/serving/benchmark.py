"""Model-only throughput: the Scorer alone, fed micro-batches as the score worker feeds it."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

from pydantic import BaseModel

from models.serving.scorer import Scorer

BENCH_CORPUS = Path(__file__).resolve().parents[1] / "data" / "bench_tweets.txt"


def load_corpus(path: Path = BENCH_CORPUS) -> list[str]:
    """One text per line (the shipped corpus: MIT-licensed financial tweets)."""
    return [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


class ModelInfo(BaseModel):
    """Which model a measurement used."""

    name: str
    version: str


class ModelOnlyResult(BaseModel):
    """The Scorer alone: documents per second and how it ran."""

    model_only_dps: float
    docs: int
    seconds: float
    batch: int
    threads: int
    batch_tokens: int
    device: str
    providers: list[str]
    variant: str
    model: ModelInfo
    code_version: str | None = None


def model_only(scorer: Scorer, texts: Sequence[str], docs: int) -> ModelOnlyResult:
    """Documents per second over ``docs`` texts, in arrival-order chunks of ``max_batch``."""
    stream = [texts[i % len(texts)] for i in range(docs)]
    scorer.score(stream[: scorer.max_batch])  # warm-up: first-run allocations
    began = time.perf_counter()
    for start in range(0, len(stream), scorer.max_batch):
        scorer.score(stream[start : start + scorer.max_batch])
    elapsed = time.perf_counter() - began
    return ModelOnlyResult(
        model_only_dps=round(docs / elapsed, 1),
        docs=docs,
        seconds=round(elapsed, 3),
        batch=scorer.max_batch,
        threads=scorer.runtime.threads,
        batch_tokens=scorer.batch_tokens,
        device=scorer.runtime.device,
        providers=scorer.runtime.providers,
        variant=scorer.runtime.variant,
        model=ModelInfo(name=scorer.name, version=scorer.version),
    )
