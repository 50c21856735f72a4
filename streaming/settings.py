"""The one frozen settings object: YAML file + ``UNDERTOW_*`` environment, validated at start.

Environment variables override the file; nested keys use ``__``, e.g.
``UNDERTOW_STACK__KAFKA_PORT=19092`` or ``UNDERTOW_KAFKA__SASL_PASSWORD=...``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from streaming.exceptions import ConfigError

CONFIG_ENV = "UNDERTOW_CONFIG"
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
    max_message_bytes: int = Field(default=1_000_000, ge=1024)
    max_text_chars: int = Field(default=20_000, ge=16)
    bucket_s: int = Field(default=60, ge=1, le=86_400)
    retention_s: int = Field(default=48 * 3600, ge=60)
    # A document id scored within this time is not scored again (0 = never skip).
    dedupe_ttl_s: int = Field(default=48 * 3600, ge=0)
    # Mask e-mail addresses and phone numbers in text and title before scoring and indexing.
    mask_pii: bool = False
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


class WebhookSettings(_Section):
    """A webhook the alerts are posted to (generic JSON, or Slack's incoming-webhook format)."""

    url: str = Field(pattern=r"^https?://")
    kind: Literal["generic", "slack"] = "generic"
    timeout_s: float = Field(default=5.0, gt=0)


class AlertingSettings(_Section):
    """The evaluator, the notifiers and the HTTP API (``undertow alerting serve``)."""

    host: str = LOOPBACK
    port: int = Field(default=8000, ge=1, le=65535)
    tick_s: float = Field(default=5.0, gt=0, le=3600)
    examples: int = Field(default=5, ge=0, le=50)
    kibana_url: str = "http://127.0.0.1:5601"
    webhooks: list[WebhookSettings] = []
    webhook_attempts: int = Field(default=3, ge=1, le=20)
    # A file of "role:sha256-hex-of-key" lines, used with (or instead of) UNDERTOW_API_KEYS.
    api_keys_file: Path | None = None


class ModelSettings(_Section):
    """Which model scores documents, and how (see models.Scorer)."""

    registry_dir: Path = Path(".undertow/registry")
    # The version shipped in the repository is current until another one is promoted.
    use_shipped: bool = True
    # A version directory to use instead of the registry's current version.
    model_dir: Path | None = None
    variant: Literal["auto", "int8", "fp16", "fp32"] = "auto"
    device: Literal["auto", "cpu", "cuda"] = "auto"
    # Intra-op threads of ONNX Runtime; None = the cores this process may run on.
    threads: int | None = Field(default=None, ge=1, le=256)
    # Let those threads spin-wait for work: faster for a lone batch on an idle machine, but a
    # stream's gaps between batches are then spent spinning on the cores the rest needs.
    spin_threads: bool = False
    max_batch: int = Field(default=64, ge=1, le=4096)
    # Padded tokens per inference batch (rows x longest row); None = by device (models.scorer:
    # 512 on CPU, measured best on 2 cores; 16384 on a GPU).
    batch_tokens: int | None = Field(default=None, ge=8)
    max_length: int = Field(default=128, ge=8, le=512)
    # Replace links by one stand-in word; None = as the model's card says it was trained.
    normalise_links: bool | None = None
    # How often running workers look for a newly promoted version (0 = never switch).
    hotswap_poll_s: float = Field(default=5.0, ge=0)


class StackSettings(_Section):
    """The local, Docker-free stack started by ``undertow stack up``."""

    home: Path = Path(".undertow")
    # Downloaded distributions; defaults to <home>/cache. Share one between checkouts.
    cache_dir: Path | None = None
    java_home: Path | None = None
    start_timeout_s: float = Field(default=240.0, gt=0)
    kafka_version: str = "4.1.1"
    kafka_port: int = Field(default=9092, ge=1, le=65535)
    kafka_controller_port: int = Field(default=9093, ge=1, le=65535)
    kafka_heap: str = Field(default="512m", pattern=r"^\d+[kmgKMG]$")
    elasticsearch_version: str = Field(default="8.19.4", pattern=r"^8\.\d+\.\d+$")
    elasticsearch_port: int = Field(default=9200, ge=1, le=65535)
    elasticsearch_transport_port: int = Field(default=9300, ge=1, le=65535)
    elasticsearch_heap: str = Field(default="512m", pattern=r"^\d+[kmgKMG]$")
    elasticsearch_user: str = "undertow-es"
    redis_port: int = Field(default=6379, ge=1, le=65535)

    @model_validator(mode="after")
    def _distinct_ports(self) -> StackSettings:
        ports = [
            self.kafka_port,
            self.kafka_controller_port,
            self.elasticsearch_port,
            self.elasticsearch_transport_port,
            self.redis_port,
        ]
        if len(set(ports)) != len(ports):
            raise ValueError(f"stack ports must be distinct, got {ports}")
        return self


class Settings(BaseSettings):
    """Everything undertow reads from configuration, built once at the entry point."""

    model_config = SettingsConfigDict(
        env_prefix="UNDERTOW_",
        env_nested_delimiter="__",
        extra="forbid",
        frozen=True,
    )

    kafka: KafkaSettings = KafkaSettings()
    elasticsearch: ElasticsearchSettings = ElasticsearchSettings()
    redis: RedisSettings = RedisSettings()
    models: ModelSettings = ModelSettings()
    streaming: StreamingSettings = StreamingSettings()
    alerting: AlertingSettings = AlertingSettings()
    stack: StackSettings = StackSettings()

    @model_validator(mode="before")
    @classmethod
    def _clients_follow_stack_ports(cls, data: Any) -> Any:
        """Client addresses default to the local stack's ports when only the ports are set."""
        if not isinstance(data, dict):
            return data
        stack = data.get("stack") or {}
        if not isinstance(stack, dict):
            return data
        defaults = {
            ("kafka", "bootstrap_servers", "kafka_port"): "{host}:{port}",
            ("redis", "url", "redis_port"): "redis://{host}:{port}/0",
        }
        for (section, key, port_key), pattern in defaults.items():
            sect = data.setdefault(section, {})
            if isinstance(sect, dict) and key not in sect and port_key in stack:
                sect[key] = pattern.format(host=LOOPBACK, port=stack[port_key])
        es = data.setdefault("elasticsearch", {})
        if isinstance(es, dict) and "hosts" not in es and "elasticsearch_port" in stack:
            es["hosts"] = [f"http://{LOOPBACK}:{stack['elasticsearch_port']}"]
        return data

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The YAML file arrives as init kwargs (see load_settings); the environment wins over it.
        return (env_settings, init_settings)


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"config file {path} is not valid YAML: {exc}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path} must hold a mapping at the top level")
    return data


def _describe(exc: ValidationError) -> str:
    lines = []
    for err in exc.errors():
        key = ".".join(str(part) for part in err["loc"]) or "(top level)"
        lines.append(f"{key}: {err['msg']}")
    return "invalid configuration:\n  " + "\n  ".join(lines)


def load_settings(path: Path | None = None) -> Settings:
    """Build the settings from ``path`` (or ``$UNDERTOW_CONFIG``) and the environment."""
    if path is None and os.environ.get(CONFIG_ENV):
        path = Path(os.environ[CONFIG_ENV])
    data = _read_yaml(path) if path is not None else {}
    try:
        return Settings(**data)
    except ValidationError as exc:
        raise ConfigError(_describe(exc)) from exc
