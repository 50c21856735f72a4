"""The pipeline's sections of the settings: Kafka, Elasticsearch, Redis, the workers.

The root settings object (``undertow.settings``) composes these with the other subsystems'.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from models.settings import ModelSettings

RAW_FIELDS = (
    "id", "text", "title", "source", "source_name", "published_at", "url", "author", "lang",
    "tickers",
)  # fmt: skip
LOOPBACK = "127.0.0.1"


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class TopicNames(_Section):
    """Kafka topic names; the defaults are the product's contract (see ARCHITECTURE.md)."""

    news: str = "undertow.news"
    social: str = "undertow.social"
    scored: str = "undertow.scored"
    alerts: str = "undertow.alerts"
    dlq: str = "undertow.dlq"


class KafkaSettings(_Section):
    """Kafka client settings, passed through to kafka-python and aiokafka."""

    bootstrap_servers: str = f"{LOOPBACK}:9092"
    client_id: str = "undertow"
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] | None = None
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    ssl_cafile: Path | None = None
    ssl_certfile: Path | None = None
    ssl_keyfile: Path | None = None
    ssl_check_hostname: bool = True
    partitions: int = Field(default=3, ge=1, le=1024)
    replication_factor: int = Field(default=1, ge=1, le=16)
    topics: TopicNames = TopicNames()

    @model_validator(mode="after")
    def _sasl_needs_credentials(self) -> KafkaSettings:
        if self.security_protocol.startswith("SASL") and not self.sasl_mechanism:
            raise ValueError("sasl_mechanism is required when security_protocol is SASL_*")
        return self


class ElasticsearchSettings(_Section):
    """Elasticsearch client settings, passed through to elasticsearch-py."""

    # Indices are <prefix>-docs-YYYY.MM.DD and <prefix>-alerts; templates match <prefix>-docs*.
    index_prefix: str = Field(default="undertow", pattern=r"^[a-z0-9][a-z0-9_.-]{0,63}$")

    hosts: list[str] = Field(default_factory=lambda: [f"http://{LOOPBACK}:9200"], min_length=1)
    username: str | None = None
    password: SecretStr | None = None
    api_key: SecretStr | None = None
    ca_certs: Path | None = None
    verify_certs: bool = True
    request_timeout_s: float = Field(default=30.0, gt=0)
    # Daily indices are deleted this many days after their date (by the sink worker, hourly:
    # streaming.retention); a document dated before that is dead-lettered (expired_timestamp).
    retention_days: int = Field(default=30, ge=1, le=3650)
    # Replicas of every index undertow creates (0 on one node; 1 or more on a cluster).
    replicas: int = Field(default=0, ge=0, le=16)


class RedisSettings(_Section):
    """Redis client settings, passed through to redis-py."""

    url: str = f"redis://{LOOPBACK}:6379/0"
    # Every key undertow writes starts with this (see streaming/keys.py).
    key_prefix: str = Field(default="undertow", pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    username: str | None = None
    password: SecretStr | None = None
    ssl_ca_certs: Path | None = None
    ssl_certfile: Path | None = None
    ssl_keyfile: Path | None = None
    socket_timeout_s: float = Field(default=5.0, gt=0)

    @model_validator(mode="after")
    def _url_scheme(self) -> RedisSettings:
        if not self.url.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("url must start with redis://, rediss:// or unix://")
        return self


class InputSettings(_Section):
    """One input topic: the source its documents come from and how its JSON maps onto RawDoc."""

    topic: str = Field(min_length=1)
    source: str = Field(min_length=1, max_length=64)
    # Our field name → dotted path in the feed's JSON, e.g. {"text": "body", "id": "meta.guid"}.
    fields: dict[str, str] = {}
    # strptime formats of the feed's published_at, tried after ISO-8601 and RFC 2822, e.g.
    # ["%d/%m/%Y %H:%M"] (no zone: UTC).
    time_formats: list[str] = Field(default=[], max_length=20)

    @model_validator(mode="after")
    def _known_fields(self) -> InputSettings:
        unknown = sorted(set(self.fields) - set(RAW_FIELDS))
        if unknown:
            raise ValueError(f"unknown RawDoc field(s) {unknown}; known: {sorted(RAW_FIELDS)}")
        return self


class StreamingSettings(_Section):
    """The workers: inputs, micro-batching, limits, windows, consumer groups."""

    # Empty: the news and social topics of kafka.topics, with sources "news" and "social".
    inputs: list[InputSettings] = []
    # A batch goes to the Scorer when it holds max_batch documents or max_wait_ms has passed
    # since its first document, whichever comes first.
    max_batch: int = Field(default=64, ge=1, le=4096)
    max_wait_ms: int = Field(default=50, ge=0, le=60_000)
    # Score batches handled at once: the next is scored while the last waits for Kafka's acks
    # (deliveries keep batch order). 1 = one at a time.
    batches_in_flight: int = Field(default=2, ge=1, le=8)
    sink_max_batch: int = Field(default=500, ge=1, le=10_000)
    sink_max_wait_ms: int = Field(default=200, ge=0, le=60_000)
    # The input limit; what the workers produce may be HEADROOM_BYTES (64 KiB) larger and the
    # topics bootstrap creates accept that (streaming.dlq, README "Size limits").
    max_message_bytes: int = Field(default=1_000_000, ge=1024, le=16_000_000)
    max_text_chars: int = Field(default=20_000, ge=16)
    # Tickers kept per document (the feed's first, then cashtags in the text); the rest are
    # counted in the document's tickers_dropped. Each ticker is a scope, so this bounds them.
    max_tickers: int = Field(default=20, ge=1, le=1000)
    # Stories: documents this similar (Jaccard of their 3-word shingles, estimated by MinHash)
    # within the horizon share a story_id; the first of a story counts as unique in the
    # windows, the rest as its reposts (streaming.stories).
    stories: bool = True
    story_similarity: float = Field(default=0.6, gt=0.0, lt=1.0)
    story_horizon_s: int = Field(default=24 * 3600, ge=60, le=30 * 86_400)
    # Entity linking: company names in the text become tickers (models.serving.entities). A
    # company counts as a ticker of the document at this relevance or more (title 1.0, first
    # sentence 0.8, further on 0.5, +0.1 a further mention); every one found is in `entities`.
    entities: bool = True
    entity_min_relevance: float = Field(default=0.6, ge=0.0, le=1.0)
    # An operator's instruments (YAML: added, overriding or disabling the packaged ones),
    # looked at every 5 s while the score worker runs: edits apply without a restart.
    watchlist: Path | None = None
    # Scopes of one kind (ticker, topic, source) evaluated at most: the most recently seen;
    # the longest idle ones are forgotten first.
    max_scopes: int = Field(default=10_000, ge=10, le=1_000_000)
    # A document dated more than this ahead of the worker's clock is dead-lettered
    # (future_timestamp); one older than the windows' retention is indexed, not counted.
    max_clock_skew_s: int = Field(default=300, ge=0, le=7 * 86_400)
    bucket_s: int = Field(default=60, ge=1, le=86_400)
    retention_s: int = Field(default=48 * 3600, ge=60)
    # Rollups: the same counts per rollup_s (half-hours: the US open at 13:30 and close at
    # 20:00 UTC fall on their edges), kept rollup_retention_s for seasonal baselines (the same
    # time of day on earlier days; alerting.rules' `baseline: seasonal`). 0 = no rollups.
    rollup_s: int = Field(default=1800, ge=60, le=86_400)
    rollup_retention_s: int = Field(default=35 * 86_400, ge=0, le=400 * 86_400)
    # A document id scored within this time is not scored again (0 = never skip).
    dedupe_ttl_s: int = Field(default=48 * 3600, ge=0)
    # Mask e-mail addresses and phone numbers in text and title before scoring and indexing.
    mask_pii: bool = False
    # Shadow scoring (`undertow worker --role shadow --model VERSION`): the candidate version
    # and the share of input documents it scores (a stable sample by document id).
    shadow_model: str | None = None
    shadow_sample: float = Field(default=1.0, gt=0, le=1)
    # Prometheus /metrics of the workers: score on this port, sink on the next; None = off.
    metrics_port: int | None = Field(default=9464, ge=1, le=65534)
    # Consumer groups are <group_prefix>-score and <group_prefix>-sink.
    group_prefix: str = Field(default="undertow", pattern=r"^[A-Za-z0-9_.-]{1,100}$")
    session_timeout_s: float = Field(default=10.0, ge=1, le=300)
    commit_interval_s: float = Field(default=1.0, gt=0, le=60)
    # The longest wait between two retries of a sink that is down (retries never stop).
    max_backoff_s: float = Field(default=30.0, gt=0)
    # Where Faust keeps its small state directory.
    data_dir: Path = Path(".undertow/faust")

    @model_validator(mode="after")
    def _rollups_hold_whole_buckets(self) -> StreamingSettings:
        if self.rollup_s % self.bucket_s:
            raise ValueError(f"rollup_s ({self.rollup_s}) must be a multiple of bucket_s "
                             f"({self.bucket_s})")  # fmt: skip
        return self


class StoresConfig(Protocol):
    """The sections every service reads: the clients and the pipeline's names and windows."""

    @property
    def kafka(self) -> KafkaSettings: ...
    @property
    def elasticsearch(self) -> ElasticsearchSettings: ...
    @property
    def redis(self) -> RedisSettings: ...
    @property
    def streaming(self) -> StreamingSettings: ...


class PipelineConfig(StoresConfig, Protocol):
    """The sections the workers read (the root settings object has them all)."""

    @property
    def models(self) -> ModelSettings: ...
