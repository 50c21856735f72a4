"""What undertow tells Alertmanager about an alert: labels (identity), annotations
(explanation). Pure functions; the real Alertmanager is in tests/integration."""

from __future__ import annotations

from datetime import UTC, datetime

from alerting.alertmanager import Matcher, Silence, SilenceStatus, annotations_of, labels_of, ours
from alerting.records import Example, Scope
from tests.alerting.alert_store_contract import make_alert

NOW = datetime(2026, 12, 7, 14, 30, tzinfo=UTC)


def test_labels_are_the_alerts_identity_and_stay_stable_across_resends() -> None:
    alert = make_alert(NOW, incident="lead0000")
    first = labels_of(alert, "prod")
    later = labels_of(alert.model_copy(update={"current": {"total": 99}, "notifications": 3}),
                      "prod")  # fmt: skip
    assert first == later
    assert first["scope"] == "ticker:ACME" and first["ticker"] == "ACME"
    assert (first["incident"], first["namespace"], first["alert_id"]) == (
        "lead0000", "prod", alert.id)  # fmt: skip
    market = labels_of(make_alert(NOW, scope=Scope.parse("all")), "prod")
    assert market["scope_kind"] == "all" and "ticker" not in market
    assert labels_of(alert, "prod", "warning")["severity"] == "warning"


def test_annotations_explain_with_evidence_and_links() -> None:
    example = Example(id="d", text="x" * 500, title="Tesco shares fall on probe",
                      published_at=NOW, score=-0.8, sentiment="negative", topic="Earnings",
                      source="news", reposts=79)  # fmt: skip
    alert = make_alert(NOW, examples=[example], verdict={"reason": "80% negative"},
                       kibana_url="http://kibana/x")  # fmt: skip
    notes = annotations_of(alert, "https://undertow.example/")
    assert notes["summary"] == "warning negative spike on ticker:ACME: 80% negative"
    assert (
        notes["evidence"] == "- Tesco shares fall on probe (negative, Earnings, news, 79 reposts)"
    )
    assert notes["page_url"] == f"https://undertow.example/#alert/{alert.id}"
    assert notes["kibana_url"] == "http://kibana/x"


def test_a_silence_naming_another_namespace_is_not_ours() -> None:
    def silence(*matchers: Matcher) -> Silence:
        status = SilenceStatus(state="active")
        return Silence(id="s", matchers=list(matchers), starts_at=NOW, ends_at=NOW,
                       created_by="x", comment="", status=status)  # fmt: skip

    scope = Matcher(name="scope", value="ticker:ACME")
    assert ours(silence(scope), "prod")
    assert ours(silence(scope, Matcher(name="namespace", value="prod")), "prod")
    assert not ours(silence(scope, Matcher(name="namespace", value="staging")), "prod")
