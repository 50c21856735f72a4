"""What every alert rule is: a name, a thresholds model, and a verdict over window statistics.

A rule is pure code (no I/O): the evaluator reads the windows and hands the rule the current
window, the baseline before it and, for a scope too new to have a baseline of its own, the
market-wide one. The lifecycle (pending, firing, resolve, cool-down) is the same for every rule
and reads its settings from the fields every thresholds model has.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Literal, Protocol, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from streaming.windows import Stats, Window

Severity = Literal["warning", "critical"]
# What a rule's name may be: it is an alert's ``rule``, a key in threshold sets and state keys.
RULE_NAME_PATTERN = r"^[a-z][a-z0-9_]{0,63}$"
SEVERITIES: tuple[Severity, ...] = ("warning", "critical")


class RuleThresholds(BaseModel):
    """What an operator can tune about any rule for one scope (or kind of scope)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    window_s: int = Field(default=600, ge=60, le=86_400)
    baseline_s: int = Field(default=7200, ge=300, le=30 * 86_400)
    min_docs: int = Field(default=10, ge=1)
    min_baseline_docs: int = Field(default=30, ge=1)
    pending_evaluations: int = Field(default=2, ge=1, le=100)
    cooldown_s: int = Field(default=900, ge=0)
    renotify_s: int = Field(default=1800, ge=10)
    # Count every document (True) or one per story (False: a story reposted 80 times counts
    # once in the rule; the minimum volume min_docs always counts every document).
    count_reposts: bool = False
    # The baseline: the baseline_s before the window (recent), or the same time of day on the
    # seasonal_days previous days of the same kind, weekdays or weekend days, in `timezone`
    # (seasonal: alerting.baselines). With fewer than seasonal_min_days of history (days on
    # which the system counted anything at that time), the recent baseline is used.
    baseline: Literal["recent", "seasonal"] = "recent"
    seasonal_days: int = Field(default=5, ge=1, le=20)
    seasonal_min_days: int = Field(default=3, ge=1, le=20)
    timezone: str = "UTC"

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (an IANA name: UTC, "
                             "America/New_York, Europe/London)") from None  # fmt: skip
        return value

    @model_validator(mode="after")
    def _enough_days(self) -> RuleThresholds:
        if self.seasonal_min_days > self.seasonal_days:
            raise ValueError("seasonal_min_days must not exceed seasonal_days")
        return self

    def counted(self, window: Window) -> Stats:
        """The window's counts as this rule weighs reposts."""
        return window.stats if self.count_reposts else window.unique


@dataclass(frozen=True)
class Verdict:
    """What a rule says about one scope at one evaluation."""

    spiking: bool
    holding: bool  # still above the resolve thresholds (hysteresis)
    severity: Severity | None
    reason: str  # one sentence: why it fires, or which check failed
    figures: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        """JSON-ready: the verdict with the rule's own figures beside it."""
        return {
            "spiking": self.spiking,
            "holding": self.holding,
            "severity": self.severity,
            **{name: round(value, 4) for name, value in self.figures.items()},
            "reason": self.reason,
        }


T_contra = TypeVar("T_contra", bound=RuleThresholds, contravariant=True)


class Rule(Protocol[T_contra]):
    """An alert rule: ``name`` (what an alert says fired it), ``summary`` (one line for people),
    ``thresholds`` (its pydantic model, defaults per scope kind in alerting/defaults.yaml)."""

    name: ClassVar[str]
    summary: ClassVar[str]
    thresholds: ClassVar[type[RuleThresholds]]

    def evaluate(
        self, current: Window, baseline: Window, t: T_contra, fallback: Window | None
    ) -> Verdict:
        """The verdict for one scope (``fallback``: the market-wide baseline, or None)."""
