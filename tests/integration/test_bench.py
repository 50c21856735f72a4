"""`undertow bench` as a user runs it: every figure measured, nothing of the bench left behind."""

from __future__ import annotations

import subprocess

import orjson
from kafka import KafkaAdminClient

from streaming.clients import elasticsearch_client, kafka_python_kwargs, redis_client
from tests.integration.conftest import undertow
from undertow.settings import Settings


def _leftovers(settings: Settings) -> list[str]:
    admin = KafkaAdminClient(**kafka_python_kwargs(settings.kafka))
    try:
        found = [t for t in admin.list_topics() if t.startswith("bench")]
    finally:
        admin.close()
    es = elasticsearch_client(settings.elasticsearch)
    try:
        found += list(es.indices.get(index="bench*", allow_no_indices=True))
    finally:
        es.close()
    client = redis_client(settings.redis)
    try:
        found += [k.decode() for k in client.scan_iter(match="bench*", count=1000)]
    finally:
        client.close()
    return found


def test_bench_measures_model_pipeline_latency_and_naive_peer_then_cleans_up(
    stack: Settings,
) -> None:
    before = set(_leftovers(stack))
    done = undertow(
        "bench", "--docs", "600", "--latency-s", "8", "--naive-docs", "20", "--json", timeout=600
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = orjson.loads(done.stdout.strip().splitlines()[-1])
    assert result["model_only_dps"] > 0
    # (e2e can exceed a short, noisy model-only phase on a shared machine: no order asserted.)
    assert result["e2e_dps"] > 0
    assert result["efficiency"] == round(result["e2e_dps"] / result["model_only_dps"], 3)
    # One message at a time in PyTorch, one index call per document: far behind, both when it
    # answers every question ours does (a pipeline per task) and sentiment alone.
    assert result["naive_tasks"] == ["sentiment", "topic"]
    assert 0 < result["naive_dps"] < result["e2e_dps"]
    assert 0 < result["naive_one_task_dps"] < result["e2e_dps"]
    assert result["speedup_vs_naive"] == round(result["e2e_dps"] / result["naive_dps"], 2)
    assert result["speedup_vs_naive_one_task"] > 1
    lat = result["latency_ms"]
    assert 0 < lat["p50"] <= lat["p95"] <= lat["p99"] <= lat["max"]
    # Every document sent at the steady rate for 8 s is measured (the reported rate is rounded
    # to 0.1 and the count truncated: they agree to 0.05 + 1/8 docs/s).
    assert result["latency_docs"] == result["latency_sent"]
    assert abs(result["latency_sent"] / 8 - result["latency_rate"]) < 0.18
    assert set(result["worker_rss_mb"]) == {"score", "sink"}
    cores = result["e2e_cpu_cores"]  # where the CPU went, each worker and service
    assert set(cores) == {"score", "sink", "kafka", "elasticsearch", "redis", "mailpit",
                          "alertmanager"}  # fmt: skip
    assert 0 < cores["score"] <= result["cores"] and cores["elasticsearch"] > 0
    assert all(0 < mb < 1536 for mb in result["worker_rss_mb"].values())
    # The provider the Scorer really got, first: CPU here, CUDA on a machine with a GPU.
    first = {"cpu": "CPUExecutionProvider", "cuda": "CUDAExecutionProvider"}[result["device"]]
    assert result["providers"][0] == first
    assert result["model"]["version"]
    assert "end to end" in done.stderr  # the human-readable table
    assert set(_leftovers(stack)) == before  # everything the bench created is gone
    left = subprocess.run(
        ["pgrep", "-f", "undertow.cli.*worker --role"], capture_output=True, text=True, check=False
    )
    assert left.stdout == ""
