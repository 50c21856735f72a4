"""`undertow bench`: in one run on one machine, the model alone, the whole pipeline, the naive peer
and the latency at half load, on bench-only topics, consumer groups, Redis keys and indices.

Everything is measured with independent clients: documents are produced with kafka-python, and
"indexed" is the ``indexed_at`` the sink stamps on each document when it sends the bulk request
that indexes it (the integration-test distribution of Elasticsearch has no ingest processors).
"""

from __future__ import annotations

import shutil
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import yaml
from elasticsearch import ApiError, Elasticsearch
from elasticsearch.helpers import scan
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.admin import NewTopic
from pydantic import BaseModel, ConfigDict

from deploy.stack import process
from deploy.stack.manager import Stack
from models.serving.benchmark import ModelInfo, load_corpus, model_only
from models.serving.runtime import scorer_for
from models.serving.scorer import available_cores
from streaming.bootstrap import bootstrap
from streaming.clients import delete_prefixed, elasticsearch_client, kafka_python_kwargs
from streaming.indices import docs_pattern, index_templates
from streaming.lag import lag
from streaming.settings import TopicNames
from streaming.stories import bands_for, bands_of, minhash
from streaming.topics import all_topics
from streaming.workers import ROLES
from undertow.settings import Settings, load_settings
from undertow.supervisor import Supervisor, worker_args

Progress = Callable[[str], None]
# Kafka's and Elasticsearch's JVMs compile their hot paths over the first thousand or so
# documents: a run on a freshly started stack measured e2e 30% lower with 200 of warm-up.
WARMUP_DOCS = 1000


def bench_config(
    user_config: Path | None, run: str, home: Path, model_dir: Path | None, device: str | None
) -> Path:
    """The user's configuration with every name moved into the bench's own namespace."""
    data: dict[str, Any] = {}
    if user_config is not None:
        data = yaml.safe_load(user_config.read_text(encoding="utf-8")) or {}
    topics = {name: f"{run}.{name}" for name in TopicNames.model_fields}
    data.setdefault("kafka", {})["topics"] = topics
    data.setdefault("redis", {})["key_prefix"] = run
    data.setdefault("elasticsearch", {})["index_prefix"] = run
    streaming = data.setdefault("streaming", {})
    streaming.update(
        group_prefix=run,
        data_dir=str(home / "faust"),
        inputs=[{"topic": topics["news"], "source": "news"}],
    )
    models = data.setdefault("models", {})
    if model_dir is not None:
        models["model_dir"] = str(model_dir)
    if device is not None:
        models["device"] = device
    path = home / "bench.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def peak_rss_mb(pid: int) -> float | None:
    """Peak resident memory of a live process (VmHWM), in MB."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


class Latency(BaseModel):
    """Milliseconds from a record's Kafka timestamp to ``indexed_at``."""

    p50: float
    p95: float
    p99: float
    max: float


class BenchResult(BaseModel):
    """One ``undertow bench`` run (the naive peer's figures absent when it was skipped)."""

    model_config = ConfigDict(extra="forbid")

    model_only_dps: float
    # The entity linker's time per document and share of linking + scoring (same documents).
    entity_linking_ms_per_doc: float | None = None
    entity_linking_share: float | None = None
    # The story detector's MinHash per document, and its share of the worker's work.
    story_detection_ms_per_doc: float | None = None
    story_detection_share: float | None = None
    device: str
    providers: list[str]
    variant: str
    threads: int
    model: ModelInfo
    e2e_dps: float
    efficiency: float
    e2e_cpu_cores: dict[str, float]  # mean cores of each worker and service during e2e
    latency_rate: float
    latency_sent: int
    latency_docs: int
    latency_ms: Latency
    worker_rss_mb: dict[str, float]
    naive_dps: float | None = None
    naive_tasks: list[str] | None = None
    naive_one_task_dps: float | None = None
    naive_docs: int | None = None
    naive_model: str | None = None
    speedup_vs_naive: float | None = None
    speedup_vs_naive_one_task: float | None = None
    docs: int
    cores: int
    code_version: str | None = None


def story_cost(texts: list[str], docs: int, scoring_s: float, linking_ms: float | None
               ) -> dict[str, float]:  # fmt: skip
    """The story detector's MinHash signatures over ``docs`` texts (its CPU part; the Redis
    lookup is one round trip per batch): ms per document, and its share of the score worker's
    per-document work (scoring, linking, stories)."""
    bands, rows = bands_for(0.6)
    stream = [texts[i % len(texts)] for i in range(docs)]
    began = time.perf_counter()
    for text in stream:
        values = minhash(text)
        if values is not None:
            bands_of(values, bands, rows)
    seconds = time.perf_counter() - began
    linking_s = (linking_ms or 0.0) * docs / 1000
    return {
        "story_detection_ms_per_doc": round(seconds / docs * 1000, 4),
        "story_detection_share": round(seconds / (seconds + scoring_s + linking_s), 4),
    }


def percentiles(values: list[float]) -> dict[str, float]:
    """p50, p95, p99 and max of ``values`` (rounded to 0.1)."""
    arr = np.asarray(values, dtype=np.float64)
    return {
        "p50": round(float(np.percentile(arr, 50)), 1),
        "p95": round(float(np.percentile(arr, 95)), 1),
        "p99": round(float(np.percentile(arr, 99)), 1),
        "max": round(float(arr.max()), 1),
    }


class Bench:
    """One bench run's namespace, clients and worker processes."""

    def __init__(self, settings: Settings, config: Path, home: Path, log_level: str) -> None:
        self.settings = settings
        self.home = home
        self.topics = settings.kafka.topics
        self.es: Elasticsearch = elasticsearch_client(settings.elasticsearch)
        self.producer = KafkaProducer(
            **kafka_python_kwargs(settings.kafka), acks="all", linger_ms=5, batch_size=256 * 1024
        )
        self.workers = Supervisor(worker_args(ROLES), config, log_level, log_dir=home / "logs")
        self.texts = load_corpus()

    def docs(self, tag: str, n: int) -> Iterator[tuple[bytes, bytes]]:
        """``n`` documents with ids unique to this run and phase (texts from the corpus)."""
        for i in range(n):
            key = f"{tag}-{i}"
            text = self.texts[i % len(self.texts)]
            yield key.encode(), orjson.dumps({"id": key, "text": text})

    def produce(self, tag: str, n: int, rate: float | None = None) -> float:
        """Produce ``n`` documents (at ``rate`` per second if given, else as fast as possible);
        return the wall-clock time of the first send."""
        began = time.time()
        start = time.monotonic()
        for i, (key, value) in enumerate(self.docs(tag, n)):
            if rate:
                delay = start + i / rate - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            self.producer.send(self.topics.news, key=key, value=value)
        self.producer.flush()
        return began

    def indexed(self, tag: str) -> int:
        """Documents of ``tag`` searchable now; -1 while a new daily index has no active shard
        yet (the sink's first bulk request creates it; a search then answers 503)."""
        pattern = docs_pattern(self.settings.elasticsearch.index_prefix)
        try:
            self.es.indices.refresh(index=pattern, allow_no_indices=True)
            found = self.es.count(
                index=pattern, query={"prefix": {"id": f"{tag}-"}}, allow_no_indices=True
            )
        except ApiError as exc:
            if exc.meta.status == 503:
                return -1
            raise
        return int(found["count"])

    def wait_done(self, tag: str, n: int, timeout_s: float, progress: Progress) -> None:
        """Until all ``n`` documents of ``tag`` are indexed and both groups have committed all
        (the sink commits only after Elasticsearch and the Redis windows)."""
        deadline = time.monotonic() + timeout_s
        last = -1
        while time.monotonic() < deadline:
            self.workers.tend()
            count = self.indexed(tag)
            if count != last:
                progress(f"{tag}: {count}/{n} indexed")
                last = count
            if count >= n and all(v == 0 for v in lag(self.settings).values()):
                return
            time.sleep(0.5)
        raise TimeoutError(f"{tag}: only {last} of {n} documents indexed after {timeout_s:.0f} s")

    def times(self, tag: str) -> list[tuple[float, float]]:
        """(published_at, indexed_at) in epoch seconds for every document of ``tag``."""
        out = []
        for hit in scan(
            self.es,
            index=docs_pattern(self.settings.elasticsearch.index_prefix),
            query={
                "query": {"prefix": {"id": f"{tag}-"}},
                "_source": ["published_at", "indexed_at"],
            },
            size=2000,
        ):
            src = hit["_source"]
            out.append(
                (
                    datetime.fromisoformat(src["published_at"]).timestamp(),
                    datetime.fromisoformat(src["indexed_at"]).timestamp(),
                )
            )
        return out

    def rss(self) -> dict[str, float | None]:
        return {role: peak_rss_mb(child.pid) for role, child in self.workers.children.items()}

    def cpu(self, services: dict[str, int]) -> dict[str, float]:
        """CPU seconds used so far by each worker and each service (its process group)."""
        groups = {role: [child.pid] for role, child in self.workers.children.items()}
        groups |= {name: process.group_members(pid) or [pid] for name, pid in services.items()}
        return {name: process.cpu_seconds(pids) for name, pids in groups.items()}

    def close(self) -> None:
        self.workers.stop()
        self.producer.close()
        self.es.close()


def cleanup(settings: Settings) -> None:
    """Delete the bench's topics, indices, templates and Redis keys."""
    prefix = settings.elasticsearch.index_prefix
    admin = KafkaAdminClient(**kafka_python_kwargs(settings.kafka))
    try:
        ours = {*all_topics(settings.kafka.topics, settings.streaming), f"{prefix}.naive"}
        admin.delete_topics(sorted(ours & set(admin.list_topics())))
    finally:
        admin.close()
    es = elasticsearch_client(settings.elasticsearch)
    try:
        # Elasticsearch refuses wildcard deletes by default: name every index.
        names = list(
            es.indices.get(index=f"{prefix}-*", allow_no_indices=True, expand_wildcards="all")
        )
        if names:
            es.indices.delete(index=names)
        for name in index_templates(prefix):
            es.options(ignore_status=404).indices.delete_index_template(name=name)
    finally:
        es.close()
    delete_prefixed(settings.redis, settings.redis.key_prefix)


def naive_phase(
    settings: Settings,
    *,
    version: str,
    docs: int,
    threads: int,
    labels: dict[str, int],
    progress: Progress,
) -> dict[str, Any]:
    """The naive peer over ``docs`` documents on its own topic and indices, twice: answering
    every question our pipeline answers (``labels``: task → number of labels, one pipeline per
    task), then the first task alone."""
    from undertow import naive  # noqa: PLC0415 (torch + transformers: only here)

    prefix = settings.elasticsearch.index_prefix
    topic = f"{prefix}.naive"
    weights, which = naive.naive_weights(settings.stack.home / "checkpoints", version)
    progress(f"naive peer: loading {which} in PyTorch, one pipeline per task")
    classify = naive.classifiers(weights, threads, labels)
    _naive_input(settings, topic, docs)
    first = next(iter(classify))
    progress(f"naive peer: {docs} documents, one at a time, {' + '.join(classify)}")
    every = _naive_run(settings, topic, f"{prefix}-naive", classify, docs)
    progress(f"naive peer: {docs} documents, one at a time, {first} only")
    one = _naive_run(settings, topic, f"{prefix}-naive-{first}", {first: classify[first]}, docs)
    return {
        "naive_dps": round(docs / every, 1),
        "naive_tasks": list(classify),
        "naive_one_task_dps": round(docs / one, 1),
        "naive_docs": docs,
        "naive_model": which,
    }


def _naive_input(settings: Settings, topic: str, docs: int) -> None:
    """The naive peer's input topic, filled with ``docs`` corpus documents."""
    admin = KafkaAdminClient(**kafka_python_kwargs(settings.kafka))
    try:
        admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])
    finally:
        admin.close()
    producer = KafkaProducer(**kafka_python_kwargs(settings.kafka), acks="all")
    texts = load_corpus()
    for i in range(docs):
        doc = {"id": f"naive-{i}", "text": texts[i % len(texts)]}
        producer.send(topic, key=doc["id"].encode(), value=orjson.dumps(doc))
    producer.flush()
    producer.close()


def _naive_run(
    settings: Settings, topic: str, name: str, classify: dict[str, Callable[[str], Any]], docs: int
) -> float:
    """One pass of the naive peer (consumer group and index ``name``); its seconds."""
    from undertow import naive  # noqa: PLC0415 (torch + transformers: only here)

    consumer = KafkaConsumer(
        topic,
        **kafka_python_kwargs(settings.kafka),
        group_id=name,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    es = elasticsearch_client(settings.elasticsearch)
    try:
        return naive.run_naive(
            consumer=consumer, classify=classify, es=es, index=name, expected=docs
        )
    finally:
        consumer.close()
        es.close()


def _pipeline(
    *,
    settings: Settings,
    config: Path,
    home: Path,
    docs: int,
    rate: float | None,
    latency_s: float,
    model_only_dps: float,
    services: dict[str, int],
    log_level: str,
    progress: Progress,
) -> dict[str, Any]:
    """Throughput as fast as possible, then latency at a steady rate, with the real workers
    (``services``: the stack's service pids, whose CPU is measured alongside theirs)."""
    bench = Bench(settings, config, home, log_level)
    try:
        bench.workers.start_all()
        progress("pipeline: warming up the workers")
        bench.produce("warmup", WARMUP_DOCS)
        bench.wait_done("warmup", WARMUP_DOCS, 300, progress)

        progress(f"pipeline: {docs} documents as fast as possible")
        cpu_before, clock = bench.cpu(services), time.monotonic()
        began = bench.produce("e2e", docs)
        bench.wait_done("e2e", docs, 900, progress)
        cpu_after, seconds = bench.cpu(services), time.monotonic() - clock
        finished = max(indexed for _, indexed in bench.times("e2e"))
        # Ratios are of the figures as reported, so the output agrees with itself.
        e2e = round(docs / (finished - began), 1)

        steady = rate or e2e / 2
        n = max(1, int(steady * latency_s))
        progress(f"latency: {n} documents at {steady:.0f}/s for {latency_s:.0f} s")
        bench.produce("steady", n, steady)
        bench.wait_done("steady", n, 300, progress)
        latencies = [(indexed - sent) * 1000 for sent, indexed in bench.times("steady")]
        return {
            "e2e_dps": e2e,
            "efficiency": round(e2e / model_only_dps, 3),
            # Where the cores went while the pipeline ran flat out (mean cores per process).
            "e2e_cpu_cores": {
                name: round((cpu_after[name] - cpu_before.get(name, 0.0)) / seconds, 2)
                for name in cpu_after
            },
            "latency_rate": round(steady, 1),
            "latency_sent": n,
            "latency_docs": len(latencies),
            "latency_ms": percentiles(latencies),
            "worker_rss_mb": bench.rss(),
        }
    finally:
        bench.close()


def run_bench(
    settings: Settings,
    config: Path | None,
    *,
    docs: int,
    rate: float | None,
    latency_s: float,
    naive_docs: int,
    model_dir: Path,
    device: str | None,
    log_level: str,
    progress: Progress,
) -> BenchResult:
    """Every measurement of the bench, in one run; cleans up what it created."""
    result: dict[str, Any] = {}
    scorer = scorer_for(settings.models, model_dir, device)
    progress(f"model only: {docs} documents through the Scorer")
    alone = model_only(scorer, load_corpus(), docs)
    result.update(
        model_only_dps=alone.model_only_dps,
        device=scorer.runtime.device,
        providers=scorer.runtime.providers,
        variant=scorer.runtime.variant,
        threads=scorer.runtime.threads,
        model={"name": scorer.name, "version": scorer.version},
        entity_linking_ms_per_doc=alone.entity_linking_ms_per_doc,
        entity_linking_share=alone.entity_linking_share,
        **story_cost(load_corpus(), docs, alone.seconds, alone.entity_linking_ms_per_doc),
    )
    labels = {"sentiment": len(scorer.sentiment_labels), "topic": len(scorer.topic_labels)}
    del scorer  # its memory back before the workers start
    run = f"bench{uuid.uuid4().hex[:8]}"
    home = Path(tempfile.mkdtemp(prefix=f"undertow-{run}-"))
    stack = Stack(settings.stack, progress=lambda msg: progress(f"stack: {msg}"))
    with stack.running() as status:
        services = {name: st.pid for name, st in status.items() if st.pid is not None}
        path = bench_config(config, run, home, model_dir, device)
        bench_settings = load_settings(path)
        try:
            bootstrap(bench_settings)
            result.update(
                _pipeline(
                    settings=bench_settings,
                    config=path,
                    home=home,
                    docs=docs,
                    rate=rate,
                    latency_s=latency_s,
                    model_only_dps=result["model_only_dps"],
                    services=services,
                    log_level=log_level,
                    progress=progress,
                )
            )
            if naive_docs:
                version, threads = result["model"]["version"], result["threads"]
                peer = naive_phase(
                    bench_settings,
                    version=version,
                    docs=naive_docs,
                    threads=threads,
                    labels=labels,
                    progress=progress,
                )
                result.update(peer)
                e2e = result["e2e_dps"]
                result["speedup_vs_naive"] = round(e2e / result["naive_dps"], 2)
                result["speedup_vs_naive_one_task"] = round(e2e / result["naive_one_task_dps"], 2)
        finally:
            progress("cleaning up the bench's topics, indices and keys")
            cleanup(bench_settings)
            shutil.rmtree(home, ignore_errors=True)
    result["docs"] = docs
    result["cores"] = available_cores()
    return BenchResult.model_validate(result)
