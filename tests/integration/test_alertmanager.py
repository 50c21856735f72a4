"""undertow's alerts in the stack's real Alertmanager: sent with their labels, e-mailed to the
real SMTP server (Mailpit) by the local routes, silenced by an acknowledgement until they
escalate, resolved; silences of a scope seen by ``amtool``."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from alerting.alert_store import analyst_change
from alerting.alertmanager import AlertmanagerClient, AlertmanagerNotifier, scope_matchers
from alerting.records import Alert, Example, Scope
from alerting.rules.base import Severity
from deploy.stack.alertmanager import AlertmanagerService
from tests.integration.alertmanager import amtool, amtool_json, eventually, mails
from undertow.settings import Settings


def _alert(severity: Severity = "critical", scope: str = "ticker:AMTEST") -> Alert:
    now = datetime.now(UTC)
    alert_id = uuid.uuid4().hex[:16]
    example = Example(
        id="d1",
        text="ACME plunges on fraud probe",
        published_at=now,
        score=-0.9,
        sentiment="negative",
        topic="Energy | Oil",
        source="news",
        reposts=3,
    )
    return Alert(
        id=alert_id,
        scope=Scope.parse(scope),
        severity=severity,
        state="firing",
        started_at=now,
        fired_at=now,
        updated_at=now,
        current={"total": 40, "negative": 32, "negative_share": 0.8},
        baseline={"total": 400, "negative": 40, "negative_share": 0.1},
        verdict={"reason": "80% negative of 40 documents against 10% before"},
        thresholds_version=1,
        examples=[example],
        incident=alert_id,
    )


def _notifier(stack: Settings, namespace: str) -> AlertmanagerNotifier:
    client = AlertmanagerClient(AlertmanagerService(stack.stack).url)
    return AlertmanagerNotifier(client, namespace, "http://127.0.0.1:8000", resend_s=30)


def _held(notifier: AlertmanagerNotifier, alert: Alert) -> list[dict[str, Any]]:
    return notifier.client.alerts({"namespace": notifier.namespace, "alert_id": alert.id})


def _in_state(notifier: AlertmanagerNotifier, alert: Alert, state: str) -> list[dict[str, Any]]:
    return [a for a in _held(notifier, alert) if a["status"]["state"] == state]


def test_a_critical_alert_is_routed_to_email_with_its_labels_and_evidence(
    stack: Settings,
) -> None:
    namespace = f"amtest-{uuid.uuid4().hex[:8]}"
    notifier = _notifier(stack, namespace)
    alert = _alert()
    notifier.notify(alert, "fired")
    [held] = eventually(lambda: _held(notifier, alert), 30, "the alert in Alertmanager")
    assert {
        "alertname": "negative_spike", "rule": "negative_spike", "namespace": namespace,
        "alert_id": alert.id, "scope_kind": "ticker", "scope": "ticker:AMTEST",
        "ticker": "AMTEST", "severity": "critical", "incident": alert.id,
    }.items() <= held["labels"].items()  # fmt: skip
    assert held["annotations"]["summary"].startswith("critical negative spike on ticker:AMTEST")
    assert (
        "ACME plunges on fraud probe (negative, Energy | Oil, news, 3 reposts)"
        in (held["annotations"]["evidence"])
    )
    assert held["annotations"]["page_url"].endswith(f"#alert/{alert.id}")
    # The local routes e-mail critical alerts, grouped by incident, to the SMTP server.
    [mail] = eventually(lambda: mails(stack, alert.id), 60, "the e-mail in Mailpit")
    assert "FIRING" in mail["Subject"]
    assert "ACME plunges on fraud probe" in mail["Text"]

    resolved = alert.model_copy(update={"state": "resolved", "resolved_at": datetime.now(UTC)})
    notifier.notify(resolved, "resolved")
    eventually(lambda: _held(notifier, alert) == [] or None, 30, "the alert resolved")
    eventually(
        lambda: [m for m in mails(stack, alert.id) if "RESOLVED" in m["Subject"]],
        90,
        "the resolution e-mailed",
    )


def test_an_acknowledgement_silences_its_alert_until_it_escalates(stack: Settings) -> None:
    namespace = f"amtest-{uuid.uuid4().hex[:8]}"
    notifier = _notifier(stack, namespace)
    alert = _alert(severity="warning")
    notifier.notify(alert, "fired")
    acked = analyst_change(alert, "acknowledged", "analyst:desk", datetime.now(UTC))
    assert acked is not None
    notifier.notify(acked, "acknowledged")
    notifier.notify(acked, "acknowledged")  # delivered twice: still one silence
    query = amtool_json(stack, "silence", "query", f"alert_id={alert.id}")
    assert [(s["createdBy"], s["status"]["state"]) for s in query] == [("analyst:desk", "active")]
    suppressed = eventually(lambda: _in_state(notifier, alert, "suppressed"), 30, "silenced")
    assert suppressed[0]["status"]["silencedBy"]

    critical = acked.model_copy(update={"severity": "critical"})
    notifier.notify(critical, "escalated")
    # The critical alert is heard; the warning's identity has ended; the silence is expired.
    held = eventually(lambda: _in_state(notifier, alert, "active"), 30, "escalated")
    assert [a["labels"]["severity"] for a in held] == ["critical"]
    assert amtool(stack, "silence", "query", "-q", f"alert_id={alert.id}").strip() == ""


def test_a_silence_of_a_scope_is_seen_by_amtool_and_expires(stack: Settings) -> None:
    namespace = f"amtest-{uuid.uuid4().hex[:8]}"
    client = _notifier(stack, namespace).client
    now = datetime.now(UTC)
    matchers = scope_matchers(namespace, Scope.parse("ticker:ACME"))
    silence_id = client.create_silence(matchers, now, now + timedelta(hours=4), "analyst:desk",
                                       "earnings day")  # fmt: skip
    listed = amtool(stack, "silence", "query", f"namespace={namespace}")
    assert silence_id in listed and "earnings day" in listed
    client.expire_silence(silence_id)
    silence = client.silence(silence_id)
    assert silence is not None and silence.state == "expired"
