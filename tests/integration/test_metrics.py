"""A worker's /metrics as Prometheus scrapes it, on the real stack: its consumer group's lag, and
the score worker's drift figures beside the model card's reference."""

from __future__ import annotations

import socket
import urllib.request
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from streaming.lag import partition_lag
from streaming.topics import consumer_group
from tests.integration.pipeline import Pipeline, wait_for
from tests.integration.test_pipeline import valid_docs
from undertow.settings import Settings


def _free_pair() -> int:
    """A port p with p and p + 1 free (score and sink metrics)."""
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port + 1))
            except OSError:
                continue
        return port


def _lag_samples(port: int) -> dict[tuple[str, str], float] | None:
    try:
        body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read()
    except OSError:
        return None  # not serving yet
    return {
        (s.labels["topic"], s.labels["partition"]): s.value
        for family in text_string_to_metric_families(body.decode())
        for s in family.samples
        if s.name == "undertow_consumer_lag"
    }


def _samples(port: int) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read()
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(body.decode())
        for s in family.samples
    }


def test_a_score_worker_exports_its_lag_per_partition_down_to_zero(
    stack: Settings, tmp_path: Path
) -> None:
    port = _free_pair()
    pipeline = Pipeline(tmp_path, {"streaming": {"metrics_port": port}})
    try:
        pipeline.produce(valid_docs(40, "ZLAG"))
        group = consumer_group(pipeline.settings.streaming, "score")
        waiting = partition_lag(pipeline.settings, [group])[group]
        assert waiting is not None
        assert len(waiting) == 6  # news and social, 3 partitions each
        assert sum(waiting.values()) == 40  # nothing consumed yet
        pipeline.start("score")

        def caught_up() -> bool:
            samples = _lag_samples(port)
            return samples is not None and len(samples) == 6 and set(samples.values()) == {0}

        wait_for("the score worker's scrape to show lag 0 on all 6 partitions", caught_up, 120)
        samples = _samples(port)
        sentiment = ("task", "sentiment")
        predicted = [v for (name, labels), v in samples.items()
                     if name == "undertow_predictions_total" and sentiment in labels]  # fmt: skip
        assert sum(predicted) == 40
        shares = {dict(labels)["label"]: v for (name, labels), v in samples.items()
                  if name == "undertow_model_reference_share" and sentiment in labels}  # fmt: skip
        assert set(shares) == {"negative", "neutral", "positive"}
        assert abs(sum(shares.values()) - 1) < 0.01
    finally:
        pipeline.stop()
