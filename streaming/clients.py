"""Settings → client arguments for Kafka, Elasticsearch and Redis (TLS and SASL included).

The only place where client objects are built from configuration; nothing here runs at import.
"""

from __future__ import annotations

from typing import Any

import redis
from elasticsearch import Elasticsearch

from streaming.settings import ElasticsearchSettings, KafkaSettings, RedisSettings


def _secret(value: Any) -> str | None:
    return None if value is None else str(value.get_secret_value())


def kafka_python_kwargs(kafka: KafkaSettings) -> dict[str, Any]:
    """Keyword arguments shared by kafka-python's producer, consumer and admin client."""
    kwargs: dict[str, Any] = {
        "bootstrap_servers": kafka.bootstrap_servers.split(","),
        "client_id": kafka.client_id,
        "security_protocol": kafka.security_protocol,
    }
    if kafka.security_protocol in ("SSL", "SASL_SSL"):
        kwargs["ssl_check_hostname"] = kafka.ssl_check_hostname
        for key in ("ssl_cafile", "ssl_certfile", "ssl_keyfile"):
            path = getattr(kafka, key)
            if path is not None:
                kwargs[key] = str(path)
    if kafka.security_protocol.startswith("SASL"):
        kwargs["sasl_mechanism"] = kafka.sasl_mechanism
        kwargs["sasl_plain_username"] = kafka.sasl_username
        kwargs["sasl_plain_password"] = _secret(kafka.sasl_password)
    return kwargs


def elasticsearch_kwargs(es: ElasticsearchSettings) -> dict[str, Any]:
    """Keyword arguments for ``elasticsearch.Elasticsearch``."""
    kwargs: dict[str, Any] = {
        "hosts": list(es.hosts),
        "request_timeout": es.request_timeout_s,
        "verify_certs": es.verify_certs,
    }
    if es.username is not None:
        kwargs["basic_auth"] = (es.username, _secret(es.password) or "")
    if es.api_key is not None:
        kwargs["api_key"] = _secret(es.api_key)
    if es.ca_certs is not None:
        kwargs["ca_certs"] = str(es.ca_certs)
    return kwargs


def redis_kwargs(settings: RedisSettings) -> dict[str, Any]:
    """Keyword arguments for ``redis.Redis.from_url`` besides the URL itself."""
    kwargs: dict[str, Any] = {"socket_timeout": settings.socket_timeout_s}
    if settings.username is not None:
        kwargs["username"] = settings.username
    if settings.password is not None:
        kwargs["password"] = _secret(settings.password)
    for key in ("ssl_ca_certs", "ssl_certfile", "ssl_keyfile"):
        path = getattr(settings, key)
        if path is not None:
            kwargs[key] = str(path)
    return kwargs


def elasticsearch_client(es: ElasticsearchSettings) -> Elasticsearch:
    """A synchronous Elasticsearch client."""
    return Elasticsearch(**elasticsearch_kwargs(es))


def redis_client(settings: RedisSettings) -> redis.Redis:
    """A synchronous Redis client (responses decoded as UTF-8)."""
    return redis.Redis.from_url(settings.url, decode_responses=True, **redis_kwargs(settings))


def delete_prefixed(settings: RedisSettings, prefix: str) -> int:
    """Delete every Redis key under ``prefix:`` (a demo or bench namespace); return how many."""
    client = redis_client(settings)
    try:
        names = list(client.scan_iter(match=f"{prefix}:*", count=1000))
        for i in range(0, len(names), 1000):
            client.delete(*names[i : i + 1000])
        return len(names)
    finally:
        client.close()
