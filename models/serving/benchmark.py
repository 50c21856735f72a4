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
    # The entity linker over the same documents, and its share of linking + scoring time.
    entity_linking_ms_per_doc: float | None = None
    entity_linking_share: float | None = None
    code_version: str | None = None


def linking_seconds(texts: Sequence[str], docs: int) -> float:
    """Seconds the entity linker (packaged instruments) takes over ``docs`` texts."""
    from models.serving.entities import WatchedLinker  # noqa: PLC0415 (its data loads once)

    linker = WatchedLinker(None).linker
    stream = [texts[i % len(texts)] for i in range(docs)]
    began = time.perf_counter()
    for text in stream:
        linker.link(None, text)
    return time.perf_counter() - began


def model_only(scorer: Scorer, texts: Sequence[str], docs: int) -> ModelOnlyResult:
    """Documents per second over ``docs`` texts, in arrival-order chunks of ``max_batch``."""
    stream = [texts[i % len(texts)] for i in range(docs)]
    scorer.score(stream[: scorer.max_batch])  # warm-up: first-run allocations
    began = time.perf_counter()
    for start in range(0, len(stream), scorer.max_batch):
        scorer.score(stream[start : start + scorer.max_batch])
    elapsed = time.perf_counter() - began
    linking = linking_seconds(texts, docs)
    return ModelOnlyResult(
        model_only_dps=round(docs / elapsed, 1),
        entity_linking_ms_per_doc=round(linking / docs * 1000, 4),
        entity_linking_share=round(linking / (linking + elapsed), 4),
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
