"""Producing a batch's output so that it always gets through: transient failures are retried
(streaming.retry); a dead letter the broker refuses as too large for its topic (a topic set
smaller than undertow sized it) is sent again as its headers and digests alone, one at a time,
rather than failing the batch again and again at the same offset. A dead-letter topic that
refuses even that is logged as an error, naming where the original is (topic, partition,
offset), and the batch goes on: one misconfigured topic must not stop every partition."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from aiokafka.errors import MessageSizeTooLargeError, RecordTooLargeError

from streaming.dlq import headers_of, without_value
from streaming.messages import OutMessage, Producer
from streaming.retry import until_sent

log = logging.getLogger(__name__)
TOO_LARGE = (MessageSizeTooLargeError, RecordTooLargeError)


async def send_all(
    producer: Producer, messages: Sequence[OutMessage], *, dlq_topic: str, max_backoff_s: float
) -> None:
    """Send ``messages`` and wait for every acknowledgement; see the module's description."""

    async def send(batch: Sequence[OutMessage]) -> None:
        await until_sent(lambda: producer.send_many(batch), what="Kafka produce",
                         max_backoff_s=max_backoff_s, first_backoff_s=0.25)  # fmt: skip

    try:
        await send(messages)
    except TOO_LARGE:
        if not any(m.topic == dlq_topic for m in messages):
            raise
        log.warning("a dead letter was too large for %s; sending the batch's dead letters as "
                    "headers and digests only", dlq_topic)  # fmt: skip
        await send([m for m in messages if m.topic != dlq_topic])
        for letter in (without_value(m) for m in messages if m.topic == dlq_topic):
            try:
                await send([letter])  # alone: a record batch of one
            except TOO_LARGE:
                log.error("the dead-letter topic %s refuses even a letter without its value; "
                          "not dead-lettered: %s", dlq_topic, headers_of(letter))  # fmt: skip
