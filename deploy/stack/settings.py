"""The stack section of the settings: the local, Docker-free services."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


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
    # Prometheus Alertmanager (Go module, `go install`d into the cache). Not its usual 9093:
    # the local Kafka's controller listens there.
    alertmanager_version: str = Field(default="0.28.1", pattern=r"^\d+\.\d+\.\d+$")
    alertmanager_port: int = Field(default=9094, ge=1, le=65535)
    # Its configuration; None: a local one that e-mails critical alerts to Mailpit.
    alertmanager_config: Path | None = None
    # Mailpit: an SMTP server with an HTTP API, where the local Alertmanager's e-mails land.
    mailpit_version: str = Field(default="1.33.1", pattern=r"^\d+\.\d+\.\d+$")
    mailpit_smtp_port: int = Field(default=1025, ge=1, le=65535)
    mailpit_http_port: int = Field(default=8025, ge=1, le=65535)
    # promtool checks and tests the rules on undertow itself (built on first use).
    promtool_version: str = Field(default="0.316.0", pattern=r"^\d+\.\d+\.\d+$")

    @model_validator(mode="after")
    def _distinct_ports(self) -> StackSettings:
        ports = [
            self.kafka_port,
            self.kafka_controller_port,
            self.elasticsearch_port,
            self.elasticsearch_transport_port,
            self.redis_port,
            self.alertmanager_port,
            self.mailpit_smtp_port,
            self.mailpit_http_port,
        ]
        if len(set(ports)) != len(ports):
            raise ValueError(f"stack ports must be distinct, got {ports}")
        return self
