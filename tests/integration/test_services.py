"""The stack's services answer independent clients; the app's topics and templates exist."""

from __future__ import annotations

import json
import urllib.request
import uuid
from typing import Any

from elasticsearch import Elasticsearch
from kafka import KafkaConsumer, KafkaProducer
from kafka.admin import KafkaAdminClient, NewTopic

from streaming.clients import elasticsearch_client, kafka_python_kwargs, redis_client
from streaming.indices import DOCS_INDEX
from streaming.topics import all_topics
from tests.integration.conftest import undertow
from undertow.settings import Settings


def test_status_json_reports_every_service_healthy(stack: Settings) -> None:
    done = undertow("stack", "status", "--json")
    assert done.returncode == 0, done.stderr
    status = json.loads(done.stdout)
    assert set(status) == {"kafka", "elasticsearch", "redis", "mailpit", "alertmanager"}
    assert all(status[name]["healthy"] is True for name in status)
    assert status["kafka"]["version"].startswith("4.")
    assert status["alertmanager"]["address"] == f"127.0.0.1:{stack.stack.alertmanager_port}"


def test_kafka_message_round_trip(stack: Settings) -> None:
    kwargs = kafka_python_kwargs(stack.kafka)
    topic = f"test.roundtrip.{uuid.uuid4().hex[:8]}"
    admin = KafkaAdminClient(**kwargs)
    admin.create_topics([NewTopic(topic, 1, 1)])
    try:
        producer = KafkaProducer(**kwargs, acks="all")
        producer.send(topic, key=b"doc-1", value=b'{"text": "hello"}').get(timeout=30)
        producer.close()
        consumer = KafkaConsumer(
            topic, **kwargs, auto_offset_reset="earliest", consumer_timeout_ms=20000
        )
        received = next(iter(consumer))
        consumer.close()
        assert (received.key, received.value) == (b"doc-1", b'{"text": "hello"}')
    finally:
        admin.delete_topics([topic])
        admin.close()


def test_application_topics_exist_with_configured_partitions(stack: Settings) -> None:
    admin = KafkaAdminClient(**kafka_python_kwargs(stack.kafka))
    try:
        described = {
            t["name"]: t
            for t in admin.describe_topics(all_topics(stack.kafka.topics, stack.streaming))
        }
    finally:
        admin.close()
    assert set(described) == set(all_topics(stack.kafka.topics, stack.streaming))
    for topic in described.values():
        assert topic["error_code"] == 0
        assert len(topic["partitions"]) == stack.kafka.partitions


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as resp:
        return json.load(resp)


def test_elasticsearch_index_and_search_through_the_template(stack: Settings) -> None:
    es: Elasticsearch = elasticsearch_client(stack.elasticsearch)
    index = f"{DOCS_INDEX}-test-{uuid.uuid4().hex[:8]}"
    try:
        doc = {"id": "d1", "text": "Shares slump", "sentiment": {"label": "negative"}}
        es.index(index=index, id="d1", document=doc, refresh="wait_for")
        hits = es.search(index=index, query={"term": {"sentiment.label": "negative"}})
        assert [h["_id"] for h in hits["hits"]["hits"]] == ["d1"]
        # An independent HTTP client sees the same, with the template's keyword mapping.
        base = stack.elasticsearch.hosts[0]
        mapping = _get(f"{base}/{index}/_mapping")[index]["mappings"]
        assert mapping["properties"]["sentiment"]["properties"]["label"]["type"] == "keyword"
        assert mapping["properties"]["id"]["type"] == "keyword"
    finally:
        es.indices.delete(index=index)
        es.close()


def test_redis_round_trip_with_aof_enabled(stack: Settings) -> None:
    client = redis_client(stack.redis)
    key = f"undertow:test:{uuid.uuid4().hex}"
    try:
        client.set(key, "ok", ex=60)
        assert client.get(key) == "ok"
        assert client.config_get("appendonly") == {"appendonly": "yes"}
    finally:
        client.delete(key)
        client.close()
