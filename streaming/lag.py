"""Consumer lag per worker role: how many messages a role has not yet committed."""

from __future__ import annotations

import logging
from collections.abc import Collection

from kafka import KafkaAdminClient, TopicPartition
from kafka.admin import OffsetSpec
from kafka.errors import KafkaError

from streaming.clients import kafka_python_kwargs
from streaming.settings import PipelineConfig
from streaming.topics import consumer_group, input_topics

log = logging.getLogger(__name__)


def role_topics(settings: PipelineConfig) -> dict[str, list[str]]:
    """Consumer group → the topics it consumes."""
    st, topics = settings.streaming, settings.kafka.topics
    return {
        consumer_group(st, "score"): input_topics(topics, st),
        consumer_group(st, "sink"): [topics.scored],
    }


def partition_lag(
    settings: PipelineConfig, groups: Collection[str] | None = None
) -> dict[str, dict[TopicPartition, int] | None]:
    """Messages produced but not yet committed, per consumer group and partition (a group that
    never committed lags by everything in its topics; None while Kafka cannot say, e.g. before
    its group coordinator is up on a fresh cluster). ``groups``: only these."""
    admin = KafkaAdminClient(**kafka_python_kwargs(settings.kafka))
    try:
        out: dict[str, dict[TopicPartition, int] | None] = {}
        for group, topics in role_topics(settings).items():
            if groups is None or group in groups:
                out[group] = _group_lag(admin, group, topics)
        return out
    finally:
        admin.close()


def _group_lag(
    admin: KafkaAdminClient, group: str, topics: list[str]
) -> dict[TopicPartition, int] | None:
    meta = admin.describe_topics(topics)
    parts = [TopicPartition(t["name"], p["partition_index"]) for t in meta for p in t["partitions"]]
    ends = admin.list_partition_offsets(dict.fromkeys(parts, OffsetSpec.LATEST))
    try:
        committed = admin.list_group_offsets({group: parts}).get(group, {})
    except KafkaError:
        return None
    out = {}
    for tp in parts:
        done = committed.get(tp)
        start = done.offset if done is not None and done.offset >= 0 else 0
        out[tp] = max(0, ends[tp].offset - start)
    return out


def lag(settings: PipelineConfig) -> dict[str, int | None]:
    """Messages produced but not yet committed, per consumer group (see partition_lag)."""
    return {
        group: None if parts is None else sum(parts.values())
        for group, parts in partition_lag(settings).items()
    }


def scrape_lag(settings: PipelineConfig, group: str) -> dict[tuple[str, int], int] | None:
    """One group's lag per (topic, partition) for a metrics scrape; None if Kafka cannot say."""
    try:
        parts = partition_lag(settings, [group]).get(group)
    except KafkaError as exc:
        log.warning("consumer lag of %s unavailable: %s", group, exc)
        return None
    return None if parts is None else {(tp.topic, tp.partition): n for tp, n in parts.items()}
