"""Consumer lag per worker role: how many messages a role has not yet committed."""

from __future__ import annotations

from kafka import KafkaAdminClient, TopicPartition
from kafka.admin import OffsetSpec
from kafka.errors import KafkaError

from streaming.clients import kafka_python_kwargs
from streaming.settings import Settings
from streaming.topics import input_topics


def role_topics(settings: Settings) -> dict[str, list[str]]:
    """Consumer group → the topics it consumes."""
    st, topics = settings.streaming, settings.kafka.topics
    return {
        f"{st.group_prefix}-score": input_topics(topics, st),
        f"{st.group_prefix}-sink": [topics.scored],
    }


def lag(settings: Settings) -> dict[str, int | None]:
    """Messages produced but not yet committed, per consumer group (a group that never
    committed lags by everything in its topics; None while Kafka cannot say, e.g. before its
    group coordinator is up on a fresh cluster)."""
    admin = KafkaAdminClient(**kafka_python_kwargs(settings.kafka))
    try:
        out: dict[str, int | None] = {}
        for group, topics in role_topics(settings).items():
            meta = admin.describe_topics(topics)
            parts = [
                TopicPartition(t["name"], p["partition_index"])
                for t in meta
                for p in t["partitions"]
            ]
            ends = admin.list_partition_offsets(dict.fromkeys(parts, OffsetSpec.LATEST))
            try:
                committed = admin.list_group_offsets({group: parts}).get(group, {})
            except KafkaError:
                out[group] = None
                continue
            total = 0
            for tp in parts:
                done = committed.get(tp)
                start = done.offset if done is not None and done.offset >= 0 else 0
                total += max(0, ends[tp].offset - start)
            out[group] = total
        return out
    finally:
        admin.close()
