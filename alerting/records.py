"""The alert record (see ARCHITECTURE.md), defined once and validated where it is built."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from alerting.rules.base import RULE_NAME_PATTERN, Severity

AlertState = Literal["pending", "firing", "resolved"]
ScopeKind = Literal["all", "topic", "ticker", "source"]


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
    acked_by: str | None = None
    acked_at: datetime | None = None
    # The incident it belongs to: the id of the alert that opened it (its own id for the lead;
    # None: fired before incidents or alone), and on the lead, the alerts grouped into it.
    incident: str | None = None
    related: list[Related] = []
