"""Kafka topic names: the one module that spells them (defaults live in ``TopicNames``)."""

from __future__ import annotations

from streaming.settings import InputSettings, StreamingSettings, TopicNames


def inputs(topics: TopicNames, streaming: StreamingSettings) -> list[InputSettings]:
    """The input topics the score worker consumes, each with its source and field mapping."""
    if streaming.inputs:
        return list(streaming.inputs)
    return [
        InputSettings(topic=topics.news, source="news"),
        InputSettings(topic=topics.social, source="social"),
    ]


def input_topics(topics: TopicNames, streaming: StreamingSettings) -> list[str]:
    """Names of the topics the score worker consumes."""
    return [i.topic for i in inputs(topics, streaming)]


def all_topics(topics: TopicNames, streaming: StreamingSettings) -> list[str]:
    """Every topic the application creates on start."""
    names = [*input_topics(topics, streaming), topics.scored, topics.alerts, topics.dlq]
    return list(dict.fromkeys(names))


def consumer_group(streaming: StreamingSettings, role: str) -> str:
    """The consumer group of a worker role (each role scales on its own)."""
    return f"{streaming.group_prefix}-{role}"
