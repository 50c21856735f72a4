"""Configuration: YAML + environment, a bad key named at start, secrets kept out of reprs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from streaming.clients import elasticsearch_kwargs, kafka_python_kwargs, redis_kwargs
from streaming.topics import all_topics
from undertow.exceptions import ConfigError
from undertow.settings import load_settings


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.startswith("UNDERTOW_"):
            monkeypatch.delenv(key)


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "undertow.yaml"
    path.write_text(text)
    return path


def test_defaults_point_at_the_local_stack() -> None:
    s = load_settings()
    assert s.kafka.bootstrap_servers == "127.0.0.1:9092"
    assert s.elasticsearch.hosts == ["http://127.0.0.1:9200"]
    assert s.redis.url == "redis://127.0.0.1:6379/0"
    assert all_topics(s.kafka.topics, s.streaming) == [
        "undertow.news",
        "undertow.social",
        "undertow.scored",
        "undertow.alerts",
        "undertow.dlq",
    ]
    assert s.kafka.partitions == 3


def test_yaml_file_then_environment_override(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _write(tmp_path, "kafka:\n  partitions: 6\n  topics:\n    news: feed.news\n")
    monkeypatch.setenv("UNDERTOW_KAFKA__PARTITIONS", "12")
    s = load_settings(path)
    assert s.kafka.partitions == 12
    assert s.kafka.topics.news == "feed.news"


def test_config_path_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UNDERTOW_CONFIG", str(_write(tmp_path, "kafka:\n  partitions: 5\n")))
    assert load_settings().kafka.partitions == 5


def test_stack_ports_move_the_client_addresses(tmp_path: Path) -> None:
    ports = "kafka_port: 19092\n  elasticsearch_port: 19200\n  redis_port: 16379\n"
    path = _write(tmp_path, f"stack:\n  {ports}  alertmanager_port: 19094\n")
    s = load_settings(path)
    assert s.kafka.bootstrap_servers == "127.0.0.1:19092"
    assert s.elasticsearch.hosts == ["http://127.0.0.1:19200"]
    assert s.redis.url == "redis://127.0.0.1:16379/0"
    assert s.alerting.alertmanager.url == "http://127.0.0.1:19094"


@pytest.mark.parametrize(
    ("yaml_text", "key"),
    [
        ("kafka:\n  partitions: many\n", "kafka.partitions"),
        ("kafka:\n  partitons: 3\n", "kafka.partitons"),
        ("stack:\n  kafka_heap: lots\n", "stack.kafka_heap"),
        ("stack:\n  elasticsearch_version: 9.1.0\n", "stack.elasticsearch_version"),
        ("redis:\n  url: http://localhost\n", "redis"),
        ("kafka:\n  security_protocol: SASL_SSL\n", "kafka"),
        ("surprise: 1\n", "surprise"),
        ("alerting:\n  alertmanager:\n    url: localhost:9094\n", "alerting.alertmanager.url"),
        ("elasticsearch:\n  replicas: -1\n", "elasticsearch.replicas"),
        ("streaming:\n  max_clock_skew_s: -5\n", "streaming.max_clock_skew_s"),
        ("streaming:\n  entity_min_relevance: 2\n", "streaming.entity_min_relevance"),
        ("alerting:\n  shards: 2\n  shard: 2\n", "alerting"),
    ],
)
def test_bad_config_names_the_key(tmp_path: Path, yaml_text: str, key: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(_write(tmp_path, yaml_text))
    assert f"\n  {key}" in str(info.value)


def test_indices_kept_shorter_than_the_windows_are_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, "elasticsearch:\n  retention_days: 1\n")  # windows keep 48 h
    with pytest.raises(ConfigError, match=r"elasticsearch\.retention_days \(1\) must cover"):
        load_settings(path)


def test_bad_environment_value_names_the_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UNDERTOW_STACK__REDIS_PORT", "not-a-port")
    with pytest.raises(ConfigError, match=r"stack\.redis_port"):
        load_settings()


def test_same_port_twice_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="distinct"):
        load_settings(_write(tmp_path, "stack:\n  redis_port: 9200\n"))


def test_unreadable_or_non_mapping_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_settings(tmp_path / "missing.yaml")
    with pytest.raises(ConfigError, match="mapping"):
        load_settings(_write(tmp_path, "- a\n- b\n"))
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_settings(_write(tmp_path, "kafka: [\n"))


def test_tls_and_sasl_reach_the_clients(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _write(
        tmp_path,
        "kafka:\n"
        "  bootstrap_servers: b1:9094,b2:9094\n"
        "  security_protocol: SASL_SSL\n"
        "  sasl_mechanism: SCRAM-SHA-512\n"
        "  sasl_username: svc\n"
        "  ssl_cafile: /etc/ca.pem\n"
        "elasticsearch:\n"
        "  hosts: ['https://es:9200']\n"
        "  username: elastic\n"
        "  ca_certs: /etc/es-ca.pem\n"
        "redis:\n"
        "  url: rediss://cache:6380/1\n"
        "  ssl_ca_certs: /etc/redis-ca.pem\n",
    )
    monkeypatch.setenv("UNDERTOW_KAFKA__SASL_PASSWORD", "kafka-secret")
    monkeypatch.setenv("UNDERTOW_ELASTICSEARCH__PASSWORD", "es-secret")
    monkeypatch.setenv("UNDERTOW_REDIS__PASSWORD", "redis-secret")
    s = load_settings(path)

    kafka = kafka_python_kwargs(s.kafka)
    assert kafka["bootstrap_servers"] == ["b1:9094", "b2:9094"]
    assert kafka["security_protocol"] == "SASL_SSL"
    assert kafka["sasl_mechanism"] == "SCRAM-SHA-512"
    assert kafka["sasl_plain_username"] == "svc"
    assert kafka["sasl_plain_password"] == "kafka-secret"
    assert kafka["ssl_cafile"] == "/etc/ca.pem"

    es = elasticsearch_kwargs(s.elasticsearch)
    assert es["hosts"] == ["https://es:9200"]
    assert es["basic_auth"] == ("elastic", "es-secret")
    assert es["ca_certs"] == "/etc/es-ca.pem"

    rd = redis_kwargs(s.redis)
    assert rd["password"] == "redis-secret"
    assert rd["ssl_ca_certs"] == "/etc/redis-ca.pem"

    shown = repr(s) + str(s.model_dump())
    for secret in ("kafka-secret", "es-secret", "redis-secret"):
        assert secret not in shown


def test_plaintext_kafka_gets_no_tls_or_sasl_arguments() -> None:
    kafka = kafka_python_kwargs(load_settings().kafka)
    assert not any(key.startswith(("ssl_", "sasl_")) for key in kafka)


def test_secrets_come_from_files_named_as_their_variables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "UNDERTOW_KAFKA__SASL_PASSWORD").write_text("from-a-file")
    (secrets / "UNDERTOW_ALERTING__WEBHOOKS").write_text('[{"url": "https://hooks.example/T/x"}]')
    (secrets / "UNDERTOW_REDIS__PASSWORD").write_text("file-loses")
    monkeypatch.setenv("UNDERTOW_SECRETS_DIR", str(secrets))
    monkeypatch.setenv("UNDERTOW_REDIS__PASSWORD", "environment-wins")
    s = load_settings(_write(tmp_path, "kafka:\n  sasl_password: yaml-loses\n"))
    assert s.kafka.sasl_password is not None
    assert s.kafka.sasl_password.get_secret_value() == "from-a-file"
    assert s.redis.password is not None
    assert s.redis.password.get_secret_value() == "environment-wins"
    [hook] = s.alerting.webhooks
    assert hook.url.get_secret_value() == "https://hooks.example/T/x"
    assert "hooks.example" not in repr(s)  # a webhook's URL carries a token: never printed
    monkeypatch.setenv("UNDERTOW_SECRETS_DIR", str(tmp_path / "missing"))
    with pytest.raises(ConfigError, match="UNDERTOW_SECRETS_DIR"):
        load_settings()
