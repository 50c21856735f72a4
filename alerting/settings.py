"""The alerting section of the settings: evaluator, notifiers, HTTP API."""

from __future__ import annotations

from pathlib import Path
from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from streaming.settings import StoresConfig

LOOPBACK = "127.0.0.1"


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class WebhookSettings(_Section):
    """A webhook the alerts are posted to (generic JSON, or Slack's incoming-webhook format).
    Its URL carries a token, so it is a secret: never printed, best given from a file or the
    environment (``UNDERTOW_ALERTING__WEBHOOKS``)."""

    url: SecretStr

    @field_validator("url")
    @classmethod
    def _http(cls, url: SecretStr) -> SecretStr:
        if not url.get_secret_value().startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return url

    kind: Literal["generic", "slack"] = "generic"
    timeout_s: float = Field(default=5.0, gt=0)


class AlertmanagerSettings(_Section):
    """Prometheus Alertmanager, which routes, groups, inhibits, silences and delivers the alerts
    (e-mail, Slack, PagerDuty, webhooks) by its own configuration."""

    # Its base URL; None: no Alertmanager (alerts are kept, indexed, streamed and produced).
    url: str | None = Field(default=f"http://{LOOPBACK}:9094", pattern=r"^https?://")
    timeout_s: float = Field(default=5.0, gt=0, le=120)
    attempts: int = Field(default=3, ge=1, le=20)
    # Firing alerts are sent again this often; Alertmanager resolves one not sent again within
    # four times this (as Prometheus does).
    resend_s: float = Field(default=60.0, ge=1, le=3600)
    # An acknowledgement silences its alert in Alertmanager until it escalates or resolves, or
    # at the latest after this long.
    ack_silence_s: float = Field(default=7 * 86_400, ge=60, le=90 * 86_400)


class AlertingSettings(_Section):
    """The evaluator, the notifiers and the HTTP API (``undertow alerting serve``)."""

    host: str = LOOPBACK
    port: int = Field(default=8000, ge=1, le=65535)
    tick_s: float = Field(default=5.0, gt=0, le=3600)
    # One `alerting serve` per Redis namespace evaluates; the others stand by. The active one's
    # lease runs out this long after it stops renewing it (None: 1.5 x tick_s).
    lease_ttl_s: float | None = Field(default=None, gt=0, le=3600)
    # The scopes shared among `shards` evaluators: this one evaluates shard `shard` (0-based;
    # a hash of the scope's name picks its shard, `all` is shard 0's), each shard with a lease
    # of its own, and the holder of shard 0's delivers every notification.
    shards: int = Field(default=1, ge=1, le=256)
    shard: int = Field(default=0, ge=0)
    # Alerts fired within this many seconds of an incident's first, about the same scope or
    # sharing its evidence, join that incident and are announced with it (alerting.incidents);
    # 0: every alert is announced on its own.
    incident_window_s: float = Field(default=300.0, ge=0, le=86_400)
    examples: int = Field(default=5, ge=0, le=50)
    kibana_url: str = "http://127.0.0.1:5601"
    # Where people open the web page (links in notifications); None: http://host:port.
    page_url: str | None = Field(default=None, pattern=r"^https?://")
    alertmanager: AlertmanagerSettings = AlertmanagerSettings()
    webhooks: list[WebhookSettings] = []
    webhook_attempts: int = Field(default=3, ge=1, le=20)
    # A file of "role:scrypt$..." lines (`undertow alerting hash-key`), used with (or instead
    # of) UNDERTOW_API_KEYS.
    api_keys_file: Path | None = None
    # Live alert streams (server-sent events) open at once, per key and in all; each holds one
    # connection of the API's shared Redis pool.
    max_streams_per_key: int = Field(default=4, ge=1, le=100)
    max_streams: int = Field(default=64, ge=1, le=10_000)

    @property
    def page(self) -> str:
        """The web page's base URL, without a trailing slash."""
        return (self.page_url or f"http://{self.host}:{self.port}").rstrip("/")

    @model_validator(mode="after")
    def _shard_in_range(self) -> AlertingSettings:
        if self.shard >= self.shards:
            raise ValueError(f"shard ({self.shard}) must be below shards ({self.shards})")
        return self


class AlertingConfig(StoresConfig, Protocol):
    """The sections the alerting service reads (the root settings object has them all)."""

    @property
    def alerting(self) -> AlertingSettings: ...
