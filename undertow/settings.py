"""The one frozen settings object: YAML file + ``UNDERTOW_*`` environment, validated at start.

Each subsystem owns its section (``streaming.settings``, ``models.settings``,
``alerting.settings``, ``deploy.stack.settings``); this module composes them. Environment
variables override the file; nested keys use ``__``, e.g. ``UNDERTOW_STACK__KAFKA_PORT=19092``
or ``UNDERTOW_KAFKA__SASL_PASSWORD=...``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError, model_validator
from pydantic_settings import (
    BaseSettings,
    NestedSecretsSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from alerting.settings import AlertingSettings
from deploy.stack.settings import StackSettings
from models.settings import ModelSettings
from streaming.settings import (
    LOOPBACK,
    ElasticsearchSettings,
    KafkaSettings,
    RedisSettings,
    StreamingSettings,
)
from undertow.exceptions import ConfigError

CONFIG_ENV = "UNDERTOW_CONFIG"
SECRETS_ENV = "UNDERTOW_SECRETS_DIR"
# Where Docker mounts secrets; read when it exists, besides $UNDERTOW_SECRETS_DIR.
DOCKER_SECRETS = Path("/run/secrets")


def secrets_dirs() -> list[Path]:
    """The directories of secret files: $UNDERTOW_SECRETS_DIR (which must exist) and Docker's."""
    found = [DOCKER_SECRETS] if DOCKER_SECRETS.is_dir() else []
    given = os.environ.get(SECRETS_ENV)
    if given:
        path = Path(given)
        if not path.is_dir():
            raise ConfigError(f"{SECRETS_ENV}: {given} is not a directory")
        found.append(path)
    return found


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
        alerting = data.setdefault("alerting", {})
        if isinstance(alerting, dict) and "alertmanager_port" in stack:
            am = alerting.setdefault("alertmanager", {})
            if isinstance(am, dict) and "url" not in am:
                am["url"] = f"http://{LOOPBACK}:{stack['alertmanager_port']}"
        return data

    @model_validator(mode="after")
    def _indices_outlive_windows(self) -> Settings:
        """A document counted in the windows must still be searchable."""
        if self.elasticsearch.retention_days * 86_400 < self.streaming.retention_s:
            raise ValueError(
                f"elasticsearch.retention_days ({self.elasticsearch.retention_days}) must cover "
                f"streaming.retention_s ({self.streaming.retention_s} s)"
            )
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The YAML file arrives as init kwargs (see load_settings); the environment wins over
        # it, and files in the secrets directory (Kubernetes or Docker secrets mounted as files,
        # each named as its environment variable) come between the two.
        secrets = NestedSecretsSettingsSource(
            file_secret_settings,
            secrets_dir=secrets_dirs(),
            secrets_prefix="UNDERTOW_",
            secrets_nested_delimiter="__",
        )
        return (env_settings, secrets, init_settings)


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
