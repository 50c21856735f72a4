"""The Faust side of the workers: an app per role, its credentials, and the adapters between
Faust's events and producer and our ``Envelope`` / ``Producer`` (see streaming.messages).

Each role is its own Faust app, hence its own consumer group (``<group_prefix>-score``,
``<group_prefix>-sink``), so score and sink workers scale separately: start more processes of a
role and Kafka shares the partitions among them.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, cast

import faust
from faust import Stream
from faust.types import EventT, StreamT

from streaming.batching import MicroBatcher
from streaming.dlq import record_limit
from streaming.messages import Envelope, OutMessage
from streaming.settings import KafkaSettings, PipelineConfig
from streaming.topics import consumer_group

log = logging.getLogger(__name__)


def _ssl_context(kafka: KafkaSettings) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(kafka.ssl_cafile) if kafka.ssl_cafile else None)
    context.check_hostname = kafka.ssl_check_hostname
    if kafka.ssl_certfile:
        context.load_cert_chain(
            str(kafka.ssl_certfile), str(kafka.ssl_keyfile) if kafka.ssl_keyfile else None
        )
    return context


def credentials(kafka: KafkaSettings) -> Any:
    """Faust's broker credentials for the configured security protocol (None for plaintext)."""
    protocol = kafka.security_protocol
    if protocol == "PLAINTEXT":
        return None
    context = _ssl_context(kafka) if protocol.endswith("SSL") else None
    if protocol.startswith("SASL"):
        password = kafka.sasl_password.get_secret_value() if kafka.sasl_password else None
        return faust.SASLCredentials(
            username=kafka.sasl_username,
            password=password,
            ssl_context=context,
            mechanism=kafka.sasl_mechanism,
        )
    return faust.SSLCredentials(context)


def make_app(settings: PipelineConfig, role: str) -> faust.App:
    """A Faust app for one role, configured from the settings (no global app, no discovery)."""
    kafka, streaming = settings.kafka, settings.streaming
    session = streaming.session_timeout_s
    return faust.App(
        consumer_group(streaming, role),
        broker=[f"kafka://{h.strip()}" for h in kafka.bootstrap_servers.split(",")],
        broker_credentials=credentials(kafka),
        broker_client_id=f"{kafka.client_id}-{role}",
        broker_session_timeout=session,
        broker_heartbeat_interval=min(3.0, session / 4),
        broker_commit_interval=streaming.commit_interval_s,
        broker_commit_every=10_000,
        consumer_auto_offset_reset="earliest",
        producer_acks=-1,
        producer_linger=0.002,
        # Room for a dead letter of the largest accepted message (streaming.dlq).
        producer_max_request_size=record_limit(streaming.max_message_bytes),
        processing_guarantee="at_least_once",
        # A stop does not wait for the batches in hand (a sink that is down would hold it for
        # as long as it is down): their offsets are not committed, so they are consumed again.
        stream_wait_empty=False,
        stream_recovery_delay=0.0,
        topic_allow_declare=False,  # `stack up` / the worker's bootstrap create the topics
        topic_disable_leader=True,
        web_enabled=False,
        autodiscover=False,
        datadir=str(streaming.data_dir),
        value_serializer="raw",
        key_serializer="raw",
    )


def envelope(event: EventT[Any]) -> Envelope:
    """Our view of a Faust event; ``ack`` acknowledges it to Faust's offset tracking."""
    msg = event.message
    return Envelope(
        topic=msg.topic,
        partition=msg.partition,
        offset=msg.offset,
        key=msg.key,
        value=msg.value,
        timestamp_ms=int(msg.timestamp * 1000) if msg.timestamp else None,
        received_s=time.time(),
        ack=event.ack,
        headers=_headers(msg.headers),
    )


def _headers(raw: Any) -> tuple[tuple[str, bytes], ...]:
    """A message's headers as pairs of name and bytes (Faust gives a list or a mapping)."""
    pairs = raw.items() if isinstance(raw, Mapping) else (raw or ())
    return tuple((str(k), v if isinstance(v, bytes) else str(v or "").encode()) for k, v in pairs)


class FaustProducer:
    """Our Producer over the app's producer: sends everything, then waits for every ack."""

    def __init__(self, app: faust.App) -> None:
        self.app = app

    async def send_many(self, messages: Sequence[OutMessage]) -> None:
        """Produce ``messages`` and wait for all their acknowledgements."""
        futures = [
            await self.app.producer.send(m.topic, m.key, m.value, None, None, list(m.headers))
            for m in messages
        ]
        await asyncio.gather(*futures)


def attach(
    app: faust.App,
    topics: Sequence[str],
    handler: Callable[[list[Envelope]], Awaitable[object]],
    *,
    max_batch: int,
    max_wait_s: float,
    in_flight: int = 1,
) -> MicroBatcher[Envelope]:
    """Consume ``topics`` without auto-ack into a micro-batcher whose batches go to ``handler``.

    The handler acknowledges what it has finished; Faust commits acknowledged offsets only. A
    handler error crashes the worker (exit code 1) so that the batch is consumed again after a
    restart instead of being skipped.
    """
    batcher: MicroBatcher[Envelope] = MicroBatcher(
        handler,
        max_batch=max_batch,
        max_wait_s=max_wait_s,
        capacity=4 * max_batch,
        in_flight=in_flight,
    )
    channel = app.topic(*topics, key_type=bytes, value_type=bytes)

    async def ingest(stream: StreamT[Any]) -> None:
        async for event in cast(Stream[Any], stream).noack().events():
            await batcher.put(envelope(event))

    async def run_batches() -> None:
        try:
            await batcher.run()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.critical("batch handler failed; stopping so the batch is consumed again",
                         exc_info=True)  # fmt: skip
            await app.crash(exc)

    app.agent(channel, name=f"{app.conf.id}.ingest")(ingest)
    app.task(run_batches)
    return batcher
