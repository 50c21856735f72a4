"""Shadow scoring on the real stack: a candidate scores the demo feed beside the live model, the
live output does not change, `undertow models compare` reports, and promotion can require it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import orjson
import pytest

from models.serving.registry import SHIPPED_DIR
from tests.integration.conftest import ROOT, undertow
from tests.integration.pipeline import Pipeline, wait_for
from tests.models.tiny import build

FEED = Path(__file__).resolve().parents[2] / "deploy" / "demo" / "feed.jsonl"
N = 300
LIVE = (SHIPPED_DIR / "CURRENT").read_text().strip()  # the shipped model serves live


@pytest.fixture
def shadow_pipeline(stack: Any, tmp_path: Path) -> Any:
    registry = tmp_path / "registry"
    build(registry / "tiny-cand", "tiny-cand")  # a candidate that answers very differently
    p = Pipeline(tmp_path, {"models": {"registry_dir": str(registry)}})
    try:
        yield p, registry
    finally:
        p.stop()


def _demo_feed(pipeline: Pipeline) -> list[dict[str, Any]]:
    # The feed's first N documents, spread over the last 3.5 hours: enough history for the
    # rules' windows and baselines before a first evaluation.
    start, step = time.time() - 3.5 * 3600, 3.5 * 3600 / N
    docs = []
    for i, line in enumerate(FEED.read_text().splitlines()[:N]):
        doc = json.loads(line)
        doc.pop("offset_s")
        docs.append({**doc, "id": f"shadow-{i}", "published_at": int((start + i * step) * 1000)})
    topics = pipeline.settings.kafka.topics
    for source, topic in (("news", topics.news), ("social", topics.social)):
        pipeline.produce([(d["id"].encode(), orjson.dumps(d)) for d in docs
                          if d["source"] == source], topic=topic)  # fmt: skip
    return docs


def _shadow_count(pipeline: Pipeline) -> int:
    index = f"{pipeline.run}-shadow"
    if not pipeline.es.indices.exists(index=index):
        return 0
    pipeline.es.indices.refresh(index=index)
    return int(pipeline.es.count(index=index)["count"])


def test_a_shadow_worker_scores_beside_the_live_one_and_compare_reports(
    shadow_pipeline: tuple[Pipeline, Path],
) -> None:
    pipeline, registry = shadow_pipeline
    docs = _demo_feed(pipeline)
    pipeline.start("score")
    pipeline.start("sink")
    pipeline.procs["shadow"] = _shadow_worker(pipeline)
    wait_for("the live answers indexed", lambda: pipeline.es_count() == len(docs), timeout=240)
    wait_for("the shadow answers indexed", lambda: _shadow_count(pipeline) == len(docs),
             timeout=240)  # fmt: skip

    # The live output is the live model's alone: one scored message per document.
    scored = pipeline.messages(pipeline.settings.kafka.topics.scored)
    assert len(scored) == len(docs)
    versions = {orjson.loads(v or b"{}")["model"]["version"] for v, _ in scored}
    assert versions == {LIVE}
    assert {d["model"]["version"] for d in pipeline.es_docs(size=N)} == {LIVE}

    config = ("--config", str(pipeline.config))
    done = undertow(*config, "models", "compare", "tiny-cand", "--since", "4h", "--json")
    assert done.returncode == 0, done.stderr
    report = orjson.loads(done.stdout.strip().splitlines()[-1])
    assert report["compared"] == report["shadow_answers"] == len(docs)
    assert report["live_models"] == {LIVE: len(docs)}
    sentiment = report["sentiment"]
    assert sum(sum(row.values()) for row in sentiment["confusion"].values()) == len(docs)
    same = sum(row.get(label, 0) for label, row in sentiment["confusion"].items())
    assert sentiment["agreement"] == pytest.approx(same / len(docs), abs=1e-4)
    assert sentiment["agreement"] < 0.9  # the tiny candidate knows a handful of words
    assert set(report["by_source"]) == {"news", "social"}
    assert sum(s["n"] for s in report["by_source"].values()) == len(docs)
    # Two hours of the feed: the evaluator runs over the same documents with each model's labels.
    alerts = report["alerts"]
    assert "skipped" not in alerts, alerts
    assert alerts["live"] == alerts["both"] + len(alerts["only_live"])
    assert alerts["candidate"] == alerts["both"] + len(alerts["only_candidate"])
    text = undertow(*config, "models", "compare", "tiny-cand", "--since", "4h")
    assert "sentiment confusion" in text.stdout and "per source" in text.stdout

    # Promotion can require that report.
    refused = undertow(*config, "promote", "tiny-cand", "--force", "--require-shadow",
                       str(len(docs) + 1))  # fmt: skip
    assert refused.returncode != 0 and f"compared {len(docs)} live" in refused.stderr
    promoted = undertow(*config, "promote", "tiny-cand", "--force", "--require-shadow",
                        str(len(docs)), "--json")  # fmt: skip
    assert promoted.returncode == 0, promoted.stderr
    record = orjson.loads(promoted.stdout.strip().splitlines()[-1])
    assert record["shadow"]["compared"] == len(docs)
    assert (registry / "shadow" / "tiny-cand.json").exists()


def _shadow_worker(pipeline: Pipeline) -> Any:
    """`undertow worker --role shadow --model tiny-cand` for this pipeline."""
    log = (pipeline.home / "shadow.log").open("ab")
    return subprocess.Popen(
        [sys.executable, "-m", "undertow.cli", "--config", str(pipeline.config), "--log-level",
         "INFO", "worker", "--role", "shadow", "--model", "tiny-cand"],
        cwd=ROOT, stdout=log, stderr=log, env=dict(os.environ),
    )  # fmt: skip


def test_the_shadow_role_needs_a_candidate_and_runs_alone(stack: Any) -> None:
    done = undertow("worker", "--role", "shadow")
    assert done.returncode == 2 and "candidate version" in done.stderr
    both = undertow("worker", "--role", "score", "--role", "shadow", "--model", "x")
    assert both.returncode == 2 and "process of its own" in both.stderr
