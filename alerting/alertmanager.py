"""Prometheus Alertmanager: where undertow's alerts are routed, grouped, inhibited, silenced
and delivered (e-mail, Slack, PagerDuty, webhooks), by Alertmanager's own configuration.

An alert is sent as labels (its identity: what fires, where; stable across re-sends, so
grouping, inhibition and silences match it) and annotations (its explanation: a one-line
summary, the evidence, links). Firing alerts are sent again every ``resend_s`` with ``endsAt``
four times that ahead, as Prometheus does, and a resolution with ``endsAt`` set; an escalation
ends the warning's identity and starts the critical one. An acknowledgement is a silence of
that alert at the severity it was acknowledged at, expired when the alert escalates, resolves
or is unacknowledged. Every call is idempotent, so a notification delivered twice is harmless.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field

from alerting import incidents
from alerting.records import Alert, AlertEvent, Scope
from alerting.rules.base import Severity
from streaming.retry import TransientHTTPStatus, retrying

log = logging.getLogger(__name__)
# Every alert and silence of one undertow deployment carries its Redis namespace.
NAMESPACE = "namespace"
ACK_COMMENT = "undertow acknowledgement of alert"
EVIDENCE_LINES = 5


class Matcher(BaseModel):
    """One label matcher of a silence, as Alertmanager's v2 API spells it."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    name: str = Field(min_length=1, max_length=100)
    value: str = Field(max_length=1000)
    is_regex: bool = Field(default=False, alias="isRegex")
    is_equal: bool = Field(default=True, alias="isEqual")


class SilenceStatus(BaseModel):
    """Whether a silence is in force."""

    state: Literal["active", "pending", "expired"]


class Silence(BaseModel):
    """A silence as Alertmanager reports it."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    id: str
    matchers: list[Matcher]
    starts_at: datetime = Field(alias="startsAt")
    ends_at: datetime = Field(alias="endsAt")
    created_by: str = Field(alias="createdBy")
    comment: str
    status: SilenceStatus

    @property
    def state(self) -> Literal["active", "pending", "expired"]:
        """active, pending (starts later) or expired."""
        return self.status.state

    def value_of(self, name: str) -> str | None:
        """The value an equality matcher wants for label ``name``, or None."""
        found = [m.value for m in self.matchers if m.name == name and m.is_equal]
        return found[0] if found and not self.is_regex_on(name) else None

    def is_regex_on(self, name: str) -> bool:
        """Whether the matcher on ``name`` is a regular expression."""
        return any(m.is_regex for m in self.matchers if m.name == name)


def rule_words(rule: str) -> str:
    """``negative_spike`` → ``negative spike``."""
    return rule.replace("_", " ")


def summary(alert: Alert) -> str:
    """One sentence: the severity, the rule, the scope, and why it fired."""
    cur = alert.current
    why = alert.verdict.get("reason") or (
        f"{cur.get('negative_share', 0):.0%} negative of {int(cur.get('total', 0))} documents"
    )
    return f"{alert.severity} {rule_words(alert.rule)} on {alert.scope.name}: {why}"


def labels_of(alert: Alert, namespace: str, severity: Severity | None = None) -> dict[str, str]:
    """The alert's identity in Alertmanager (``severity``: another than the alert's now)."""
    out = {
        "alertname": alert.rule,
        "rule": alert.rule,
        NAMESPACE: namespace,
        "alert_id": alert.id,
        "scope_kind": alert.scope.kind,
        "scope": alert.scope.name,
        "severity": severity or alert.severity,
        "incident": alert.incident or alert.id,
    }
    if alert.scope.kind != "all" and alert.scope.value is not None:
        out[alert.scope.kind] = alert.scope.value
    return out


def page_link(page_url: str, alert_id: str) -> str:
    """The alert's detail view on the web page."""
    return f"{page_url.rstrip('/')}/#alert/{alert_id}"


def evidence(alert: Alert) -> str:
    """The alert's example documents, one line each (its stories, with their reposts)."""
    lines = []
    for ex in alert.examples[:EVIDENCE_LINES]:
        about = ", ".join(x for x in (ex.sentiment, ex.topic, ex.source) if x)
        reposts = f", {ex.reposts} reposts" if ex.reposts else ""
        lines.append(f"- {(ex.title or ex.text)[:200]} ({about}{reposts})")
    return "\n".join(lines)


def annotations_of(alert: Alert, page_url: str) -> dict[str, str]:
    """The alert's explanation: summary, evidence, related alerts and links."""
    out = {"summary": summary(alert), "page_url": page_link(page_url, alert.id)}
    if text := evidence(alert):
        out["evidence"] = text
    if related := incidents.summary(alert):
        out["related"] = related
    if alert.kibana_url:
        out["kibana_url"] = alert.kibana_url
    return out


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).isoformat()


class AlertmanagerError(Exception):
    """Alertmanager refused a request (a 4xx: the request itself is wrong)."""


class AlertmanagerClient:
    """Alertmanager's v2 API; transient failures are retried, each try bounded."""

    def __init__(
        self,
        url: str,
        *,
        timeout_s: float = 5.0,
        attempts: int = 3,
        client: httpx.Client | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base = url.rstrip("/") + "/api/v2"
        self.attempts = attempts
        self.sleep = sleep
        self.client = client or httpx.Client(timeout=timeout_s)

    def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        def once() -> httpx.Response:
            resp = self.client.request(method, self.base + path, **kwargs)
            if resp.status_code >= 500 or resp.status_code == 429:
                raise TransientHTTPStatus(resp.status_code)
            if resp.status_code >= 400:
                raise AlertmanagerError(f"Alertmanager answered {resp.status_code}: {resp.text}")
            return resp

        retrier = retrying("alertmanager", sleep=self.sleep, attempts=self.attempts,
                           max_backoff_s=8.0)  # fmt: skip
        result: httpx.Response = retrier(once)
        return result

    def post_alerts(self, alerts: list[dict[str, Any]]) -> None:
        """Send alerts (new, again, or resolved)."""
        if alerts:
            self._call("POST", "/alerts", json=alerts)

    def alerts(self, matchers: dict[str, str]) -> list[dict[str, Any]]:
        """The alerts Alertmanager holds whose labels equal ``matchers`` (silenced and
        inhibited ones included)."""
        params = [("filter", f'{k}="{_quoted(v)}"') for k, v in matchers.items()]
        found: list[dict[str, Any]] = self._call("GET", "/alerts", params=params).json()
        return found

    def silences(self, matchers: dict[str, str] | None = None) -> list[Silence]:
        """The silences (active, pending and recently expired) that have these equality
        matchers among theirs."""
        params = [("filter", f'{k}="{_quoted(v)}"') for k, v in (matchers or {}).items()]
        return [Silence.model_validate(s) for s in self._call("GET", "/silences",
                                                              params=params).json()]  # fmt: skip

    def create_silence(
        self, matchers: list[Matcher], starts: datetime, ends: datetime, by: str, comment: str
    ) -> str:
        """A new silence; its id."""
        body = {
            "matchers": [m.model_dump(by_alias=True) for m in matchers],
            "startsAt": _iso(starts),
            "endsAt": _iso(ends),
            "createdBy": by,
            "comment": comment,
        }
        silence_id: str = self._call("POST", "/silences", json=body).json()["silenceID"]
        return silence_id

    def silence(self, silence_id: str) -> Silence | None:
        """One silence, or None."""
        try:
            return Silence.model_validate(self._call("GET", f"/silence/{silence_id}").json())
        except AlertmanagerError:
            return None

    def expire_silence(self, silence_id: str) -> None:
        """End a silence now (one already expired stays so)."""
        self._call("DELETE", f"/silence/{silence_id}")


def _quoted(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


def scope_matchers(namespace: str, scope: Scope, rule: str | None = None) -> list[Matcher]:
    """A silence of every alert on ``scope`` (of ``rule`` only, if given) in this namespace."""
    out = [Matcher(name=NAMESPACE, value=namespace), Matcher(name="scope", value=scope.name)]
    if rule is not None:
        out.append(Matcher(name="rule", value=rule))
    return out


def ours(silence: Silence, namespace: str) -> bool:
    """Whether a silence can match this namespace's alerts (it names no other namespace)."""
    named = silence.value_of(NAMESPACE)
    return named is None or named == namespace


class AlertmanagerNotifier:
    """Sends every alert event to Alertmanager, keeps firing alerts alive there (``resend``),
    and keeps each acknowledgement's silence in step with the alert."""

    name = "alertmanager"

    def __init__(
        self,
        client: AlertmanagerClient,
        namespace: str,
        page_url: str,
        *,
        resend_s: float = 60.0,
        ack_silence_s: float = 7 * 86_400,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.client = client
        self.namespace = namespace
        self.page_url = page_url
        self.resend_s = resend_s
        self.ack_silence_s = ack_silence_s
        self.clock = clock

    def _sent(
        self, alert: Alert, ends: datetime, severity: Severity | None = None
    ) -> dict[str, Any]:
        return {
            "labels": labels_of(alert, self.namespace, severity),
            "annotations": annotations_of(alert, self.page_url),
            "startsAt": _iso(alert.fired_at or alert.started_at),
            "endsAt": _iso(ends),
            "generatorURL": page_link(self.page_url, alert.id),
        }

    def _firing(self, alert: Alert) -> dict[str, Any]:
        return self._sent(alert, self.clock() + timedelta(seconds=4 * self.resend_s))

    def notify(self, alert: Alert, event: AlertEvent) -> None:
        """Send, resolve or silence as the event asks; raise after giving up."""
        now = self.clock()
        if event in ("fired", "sustained"):
            self.client.post_alerts([self._firing(alert)])
        elif event == "escalated":
            self.client.post_alerts([self._sent(alert, now, "warning"), self._firing(alert)])
            self._expire_ack(alert)
        elif event == "resolved":
            self.client.post_alerts([self._sent(alert, alert.resolved_at or now)])
            self._expire_ack(alert)
        elif event == "acknowledged" and alert.state == "firing":
            self._silence_ack(alert)
        elif event == "unacknowledged":
            self._expire_ack(alert)

    def resend(self, firing: list[Alert]) -> None:
        """Send every firing alert again (so Alertmanager does not time it out), and make sure
        each acknowledgement in force has its silence."""
        self.client.post_alerts([self._firing(a) for a in firing])
        acked = [a for a in firing if a.acknowledged]
        if acked:
            silenced = self._ack_silences()
            for alert in acked:
                self._silence_ack(alert, silenced)

    def _ack_silences(self, alert: Alert | None = None) -> list[Silence]:
        wanted = {NAMESPACE: self.namespace} | ({"alert_id": alert.id} if alert else {})
        return [s for s in self.client.silences(wanted)
                if s.state != "expired" and s.comment.startswith(ACK_COMMENT)]  # fmt: skip

    def _silence_ack(self, alert: Alert, known: list[Silence] | None = None) -> None:
        """The acknowledgement's silence: this alert, at the severity acknowledged (an
        escalation is heard), until it is expired or ``ack_silence_s`` runs out."""
        severity = alert.acked_severity or alert.severity
        for silence in known if known is not None else self._ack_silences(alert):
            if (
                silence.value_of("alert_id") == alert.id
                and silence.value_of("severity") == severity
            ):
                return  # already there (a notification delivered twice)
        now = self.clock()
        matchers = [Matcher(name=NAMESPACE, value=self.namespace),
                    Matcher(name="alert_id", value=alert.id),
                    Matcher(name="severity", value=severity)]  # fmt: skip
        comment = (f"{ACK_COMMENT} {alert.id} ({rule_words(alert.rule)} on {alert.scope.name}): "
                   "until it escalates or resolves")  # fmt: skip
        by = alert.acked_by or "undertow"
        self.client.create_silence(matchers, now, now + timedelta(seconds=self.ack_silence_s),
                                   by, comment)  # fmt: skip

    def _expire_ack(self, alert: Alert) -> None:
        for silence in self._ack_silences(alert):
            self.client.expire_silence(silence.id)
