"""Dead letters, following Kafka Connect's convention: the original bytes unchanged as the value,
why and from where in the headers (``reason`` plus Connect's ``__connect.errors.*`` names, so
tools that read Connect's dead-letter queues read ours)."""

from __future__ import annotations

from streaming.messages import Envelope, OutMessage

REASON = "reason"
_CONNECT = "__connect.errors."
STAGE_DECODE = "VALUE_CONVERTER"
STAGE_SINK = "TASK_PUT"


def dead_letter(
    envelope: Envelope, dlq_topic: str, reason: str, error: BaseException | str, stage: str
) -> OutMessage:
    """The dead letter for ``envelope``: same key and value, the reason and origin in headers."""
    error_class = error if isinstance(error, str) else type(error).__name__
    message = str(error)[:1000]
    headers = {
        REASON: reason,
        f"{_CONNECT}topic": envelope.topic,
        f"{_CONNECT}partition": str(envelope.partition),
        f"{_CONNECT}offset": str(envelope.offset),
        f"{_CONNECT}stage": stage,
        f"{_CONNECT}exception.class.name": error_class,
        f"{_CONNECT}exception.message": message,
    }
    return OutMessage(
        topic=dlq_topic,
        key=envelope.key,
        value=envelope.value,
        headers=tuple((k, v.encode("utf-8")) for k, v in headers.items()),
    )


def headers_of(message: OutMessage) -> dict[str, str]:
    """The headers of a produced message as text."""
    return {k: v.decode("utf-8", "replace") for k, v in message.headers}
