"""The alert record (see ARCHITECTURE.md), defined once and validated where it is built."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from alerting.lifecycle import Event
from alerting.rules.base import RULE_NAME_PATTERN, Severity

AlertState = Literal["pending", "firing", "resolved"]
ScopeKind = Literal["all", "topic", "ticker", "source"]
# What analysts do to an alert, and an alert joining another's incident ("grouped", on the
# lead): notified through the outbox like the lifecycle's events, so the alerts index, the live
# feed, Kafka and Alertmanager hear of them, but never paging anyone.
AnalystAction = Literal["acknowledged", "unacknowledged", "noted", "judged"]
Notice = AnalystAction | Literal["grouped"]
AlertEvent = Event | Notice
NOTICES: tuple[Notice, ...] = ("acknowledged", "unacknowledged", "noted", "judged", "grouped")
# What an analyst says of an alert once it has fired: worth the interruption, or noise
# (`undertow thresholds suggest` tunes the thresholds on it).
Verdict = Literal["useful", "noise"]
MAX_NOTE_CHARS = 2000
# An alert keeps this many activity entries (acknowledgements, notes), the latest.
MAX_ACTIVITY = 200


class Scope(BaseModel):
    """Which slice of the stream an alert is about."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: ScopeKind
    value: str | None = None

    @classmethod
    def parse(cls, name: str) -> Scope:
        """``all`` or ``kind:value`` → Scope."""
        kind, _, value = name.partition(":")
        return cls(kind=kind, value=value or None)

    @property
    def name(self) -> str:
        """``all``, ``topic:Earnings``..."""
        return self.kind if self.value is None else f"{self.kind}:{self.value}"


class Example(BaseModel):
    """A document that drove an alert."""

    model_config = ConfigDict(extra="ignore")

    id: str
    text: str
    title: str | None = None
    source: str | None = None
    url: str | None = None
    published_at: datetime
    score: float
    sentiment: str | None = None
    topic: str | None = None
    tickers: list[str] = []
    # Its story and the other documents of that story in the alert's window.
    story_id: str | None = None
    reposts: int = 0


class Related(BaseModel):
    """An alert grouped into another's incident (alerting.incidents), as the lead lists it."""

    model_config = ConfigDict(extra="ignore")

    id: str
    rule: str
    scope: str
    severity: Severity
    fired_at: datetime


class Activity(BaseModel):
    """Something an analyst did to an alert: who, when, what (and the note's text)."""

    model_config = ConfigDict(extra="ignore")

    at: datetime
    by: str
    action: Literal["acknowledged", "unacknowledged", "note", "judged"]
    text: str | None = Field(default=None, max_length=MAX_NOTE_CHARS + 16)


class Feedback(BaseModel):
    """An analyst's verdict on an alert: useful or noise, who, when, and why."""

    model_config = ConfigDict(extra="ignore")

    verdict: Verdict
    by: str
    at: datetime
    note: str | None = Field(default=None, max_length=MAX_NOTE_CHARS)


class Alert(BaseModel):
    """One rule firing on one scope, through its lifecycle (``rule``: the rule's registry name)."""

    model_config = ConfigDict(extra="forbid")

    id: str
    rule: str = Field(default="negative_spike", pattern=RULE_NAME_PATTERN)
    scope: Scope
    severity: Severity
    state: AlertState
    started_at: datetime
    fired_at: datetime | None = None
    resolved_at: datetime | None = None
    updated_at: datetime
    current: dict[str, float]
    baseline: dict[str, float]
    verdict: dict[str, object] = {}
    thresholds_version: int
    model_version: str | None = None
    examples: list[Example] = []
    kibana_url: str | None = None
    notifications: int = Field(default=0, ge=0)
    # The acknowledgement in force (cleared by unacknowledging) and the severity it was given
    # at: it stops re-notification until the alert escalates past that severity or resolves.
    acked_by: str | None = None
    acked_at: datetime | None = None
    acked_severity: Severity | None = None
    # Acknowledgements and notes, oldest first (the latest MAX_ACTIVITY).
    activity: list[Activity] = []
    # The incident it belongs to: the id of the alert that opened it (its own id for the lead;
    # None: fired before incidents or alone), and on the lead, the alerts grouped into it.
    incident: str | None = None
    related: list[Related] = []
    # The latest analyst verdict on the alert (useful or noise), if any.
    feedback: Feedback | None = None

    @property
    def acknowledged(self) -> bool:
        """Whether an acknowledgement holds: given, and the alert has not escalated since."""
        if self.acked_by is None:
            return False
        return self.acked_severity is None or self.acked_severity == self.severity
