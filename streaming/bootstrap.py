"""Create the application's Kafka topics and Elasticsearch index templates if absent."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

from elasticsearch import ApiError, TransportError
from kafka.admin import KafkaAdminClient, NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError

from streaming.clients import elasticsearch_client, kafka_python_kwargs
from streaming.dlq import record_limit
from streaming.exceptions import BootstrapError
from streaming.indices import (
    ALERTS_MAPPINGS,
    DOCS_MAPPINGS,
    alerts_index,
    docs_pattern,
    index_templates,
)
from streaming.settings import PipelineConfig
from streaming.topics import all_topics

log = logging.getLogger(__name__)
PROBE_GROUP = "undertow-bootstrap-probe"


@dataclass
class BootstrapReport:
    """What bootstrap created (names that already existed are not listed)."""

    topics_created: list[str] = field(default_factory=list)
    templates_written: list[str] = field(default_factory=list)


def _await_group_coordinator(admin: KafkaAdminClient, timeout_s: float = 60.0) -> None:
    """Wait until consumer groups work: a fresh cluster creates its offsets topic on the first
    coordinator lookup, and workers, lag queries and tests should not race that."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            admin.list_group_offsets(PROBE_GROUP)
            return
        except KafkaError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def ensure_topics(settings: PipelineConfig) -> list[str]:
    """Create missing topics with the configured partitions; return the names created."""
    kafka = settings.kafka
    try:
        admin = KafkaAdminClient(**kafka_python_kwargs(kafka), request_timeout_ms=30000)
    except KafkaError as exc:
        raise BootstrapError(f"cannot reach Kafka at {kafka.bootstrap_servers}: {exc}") from exc
    try:
        existing = set(admin.list_topics())
        missing = [t for t in all_topics(kafka.topics, settings.streaming) if t not in existing]
        created = []
        # Every record the workers produce fits (streaming.dlq), framing included.
        configs = {"max.message.bytes": str(record_limit(settings.streaming.max_message_bytes))}
        for name in missing:
            topic = NewTopic(
                name, kafka.partitions, kafka.replication_factor, topic_configs=configs
            )
            try:
                admin.create_topics([topic])
                created.append(name)
            except TopicAlreadyExistsError:
                pass  # another process created it between list and create
        _await_group_coordinator(admin)
        return created
    except KafkaError as exc:
        raise BootstrapError(f"cannot create Kafka topics: {exc}") from exc
    finally:
        admin.close()


def ensure_index_templates(settings: PipelineConfig) -> list[str]:
    """Write the index templates (idempotent: same body, same result); return their names."""
    es = elasticsearch_client(settings.elasticsearch)
    templates = index_templates(
        settings.elasticsearch.index_prefix, settings.elasticsearch.replicas
    )
    try:
        for name, body in templates.items():
            es.indices.put_index_template(name=name, **body)
        # An alerts index made by an earlier version gets the fields added since (additive).
        es.indices.put_mapping(
            index=alerts_index(settings.elasticsearch.index_prefix),
            properties=ALERTS_MAPPINGS["properties"],
            allow_no_indices=True,
            ignore_unavailable=True,
        )
        # Daily docs indices made before corrections existed get the field (additive).
        es.indices.put_mapping(
            index=docs_pattern(settings.elasticsearch.index_prefix),
            properties={"correction": DOCS_MAPPINGS["properties"]["correction"]},
            allow_no_indices=True,
            ignore_unavailable=True,
        )
        return list(templates)
    except (ApiError, TransportError) as exc:
        raise BootstrapError(f"cannot write Elasticsearch index templates: {exc}") from exc
    finally:
        es.close()


def bootstrap(settings: PipelineConfig) -> BootstrapReport:
    """Ensure topics and index templates; safe to call on every start."""
    report = BootstrapReport(ensure_topics(settings), ensure_index_templates(settings))
    log.info("bootstrap done", extra={"topics_created": report.topics_created})
    return report
