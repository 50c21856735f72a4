"""Kafka topic names: the one module that spells them (defaults live in ``TopicNames``)."""

from __future__ import annotations

from streaming.settings import TopicNames


def input_topics(topics: TopicNames) -> list[str]:
    """Topics the score worker consumes."""
    return [topics.news, topics.social]


def all_topics(topics: TopicNames) -> list[str]:
    """Every topic the application creates on start."""
    return [*input_topics(topics), topics.scored, topics.alerts, topics.dlq]
