"""Webhooks against a real local HTTP server: retries, Slack's format, giving up named."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import ClassVar

import pytest
from kafka.errors import KafkaTimeoutError

from alerting import incidents
from alerting.notifiers import KafkaNotifier, WebhookNotifier
from alerting.records import Alert, Example, Scope
from alerting.settings import WebhookSettings
from streaming.retry import RetryLater


class Receiver(BaseHTTPRequestHandler):
    """Answers the queued status codes in turn (then 200) and keeps the bodies."""

    statuses: ClassVar[list[int]] = []
    bodies: ClassVar[list[dict[str, object]]] = []

    def do_POST(self) -> None:
        length = int(self.headers["content-length"])
        Receiver.bodies.append(json.loads(self.rfile.read(length)))
        self.send_response(Receiver.statuses.pop(0) if Receiver.statuses else 200)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        return None


@pytest.fixture
def receiver() -> Iterator[str]:
    Receiver.statuses, Receiver.bodies = [], []
    server = HTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/hook"
    finally:
        server.shutdown()


def alert() -> Alert:
    now = datetime.now(UTC)
    return Alert(
        id="a1",
        scope=Scope(kind="ticker", value="ACME"),
        severity="critical",
        state="firing",
        started_at=now,
        fired_at=now,
        updated_at=now,
        current={"total": 40, "negative": 36, "negative_share": 0.9},
        baseline={"total": 900, "negative": 135, "negative_share": 0.15},
        thresholds_version=3,
        examples=[
            Example(id="d1", text="ACME plunges after fraud probe", published_at=now, score=-0.97)
        ],
        kibana_url="http://kibana/app/discover#/x",
    )


def test_a_generic_webhook_is_retried_until_it_is_taken(receiver: str) -> None:
    Receiver.statuses = [503, 502]
    sleeps: list[float] = []
    hook = WebhookNotifier(WebhookSettings(url=receiver), attempts=3, sleep=sleeps.append)
    hook.notify(alert(), "fired")
    assert len(Receiver.bodies) == 3 and len(sleeps) == 2
    body = Receiver.bodies[-1]
    assert body["event"] == "fired"
    assert body["alert"]["scope"] == {"kind": "ticker", "value": "ACME"}  # type: ignore[index]


def test_slack_gets_a_message_for_people(receiver: str) -> None:
    WebhookNotifier(WebhookSettings(url=receiver, kind="slack"), sleep=lambda s: None).notify(
        alert(), "fired"
    )
    (body,) = Receiver.bodies
    text = str(body["text"])
    assert "ticker:ACME" in text and "90% negative" in text and "fraud probe" in text


def test_slack_says_why_each_rule_fired_in_its_own_words(receiver: str) -> None:
    buzz = alert().model_copy(update={
        "rule": "volume_spike",
        "verdict": {"reason": "120 documents in the window, 6.0x the 20.0 expected (z 22.4)"},
    })  # fmt: skip
    WebhookNotifier(WebhookSettings(url=receiver, kind="slack"), sleep=lambda s: None).notify(
        buzz, "fired"
    )
    (body,) = Receiver.bodies
    text = str(body["text"])
    assert "critical volume spike on `ticker:ACME`: 120 documents in the window" in text, text
    assert "negative" not in text.split("\n", maxsplit=1)[0]


def test_a_refusing_receiver_is_not_retried_and_the_failure_is_named(receiver: str) -> None:
    Receiver.statuses = [400]
    hook = WebhookNotifier(WebhookSettings(url=receiver), attempts=5, sleep=lambda s: None)
    with pytest.raises(RuntimeError, match=r"after 1 attempt.*HTTP 400"):
        hook.notify(alert(), "resolved")
    assert len(Receiver.bodies) == 1


def test_slack_shows_text_from_documents_literally(receiver: str) -> None:
    text = "<!channel> <https://evil.example|click> & more"
    example = Example(id="d2", text=text, published_at=datetime.now(UTC), score=-0.9)
    hostile = alert().model_copy(update={"examples": [example]})
    WebhookNotifier(WebhookSettings(url=receiver, kind="slack"), sleep=lambda s: None).notify(
        hostile, "fired"
    )
    text = str(Receiver.bodies[0]["text"])
    assert "&lt;!channel&gt; &lt;https://evil.example|click&gt; &amp; more" in text
    assert "<!channel>" not in text and "<https://evil" not in text
    assert text.endswith("<http://kibana/app/discover#/x|Open in Kibana>")  # ours stays a link


class TimingOutProducer:
    """A Kafka producer whose first ``timeouts`` sends are never acknowledged."""

    def __init__(self, timeouts: int) -> None:
        self.timeouts = timeouts
        self.keys: list[object] = []

    def send(self, topic: str, **record: object) -> TimingOutProducer:
        self.keys.append(record["key"])
        return self

    def get(self, timeout: float) -> None:
        if len(self.keys) <= self.timeouts:
            raise KafkaTimeoutError()


def test_a_kafka_notification_not_acknowledged_in_time_is_tried_again() -> None:
    producer = TimingOutProducer(timeouts=1)
    notifier = KafkaNotifier(producer, "alerts", attempts=3, timeout_s=0.1)
    notifier.notify(alert(), "fired")
    assert producer.keys == [b"a1", b"a1"]
    never = KafkaNotifier(TimingOutProducer(timeouts=9), "alerts", attempts=2, timeout_s=0.1)
    with pytest.raises(RetryLater, match=r"no acknowledgement within 0\.1 s"):
        never.notify(alert(), "fired")


def test_an_incident_is_posted_once_with_the_alerts_grouped_into_it(receiver: str) -> None:
    lead = alert().model_copy(update={"incident": "a1"})
    member = alert().model_copy(update={
        "id": "a2", "rule": "volume_spike", "scope": Scope(kind="topic", value="Earnings"),
        "severity": "warning", "incident": "a1",
    })  # fmt: skip
    lead = incidents.with_member(lead, member)
    slack = WebhookNotifier(WebhookSettings(url=receiver, kind="slack"), sleep=lambda s: None)
    for one, event in ((lead, "fired"), (member, "fired"), (member, "sustained"),
                       (member, "resolved"), (lead, "resolved")):  # fmt: skip
        slack.notify(one, event)  # type: ignore[arg-type]
    texts = [str(body["text"]) for body in Receiver.bodies]
    assert [t.split(" ", 1)[0] for t in texts] == ["*FIRED*", "*RESOLVED*"]
    assert "+1 related: volume spike on topic:Earnings" in texts[0], texts[0]
    slack.notify(member, "escalated")  # news the lead's message does not carry
    assert "topic:Earnings" in str(Receiver.bodies[-1]["text"]).split("\n", 1)[0]
