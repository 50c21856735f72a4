"""The volume ("buzz") spike rule: far more documents on a scope than its baseline rate, in any
tone. Pure code over window statistics, no I/O.

The baseline's rate is scaled to the current window's length: the count expected in the window.
A spike needs the count at a multiple of that (``ratio``) and far outside Poisson noise
(``z``). A scope with too little baseline of its own (a company nobody wrote about lately) is
compared with at least ``expected_floor`` documents per window, once the market-wide baseline
shows that the system has history at all. Counts are of first occurrences unless
``count_reposts`` is set: a story reposted 80 times is one document here.
"""

from __future__ import annotations

import math
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

from alerting.rules.base import RuleThresholds, Severity, Verdict
from streaming.windows import Stats, Window


class VolumeTier(BaseModel):
    """The least ratio that makes a volume spike this severe."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    ratio: float = Field(ge=1.0)


class VolumeThresholds(RuleThresholds):
    """Everything an operator can tune about the volume rule for one scope (or kind)."""

    min_docs: int = Field(default=20, ge=1)
    ratio: float = Field(default=4.0, ge=1.0)
    z: float = Field(default=5.0, ge=0.0)
    # Documents per window expected at least of a scope with under min_baseline_docs in its
    # baseline (a name nobody wrote about lately; any scope just after a start).
    expected_floor: float = Field(default=3.0, gt=0.0)
    resolve_ratio: float = Field(default=2.0, ge=1.0)
    critical: VolumeTier = VolumeTier(ratio=10.0)

    @model_validator(mode="after")
    def _consistent(self) -> VolumeThresholds:
        if self.resolve_ratio > self.ratio:
            raise ValueError("resolve_ratio must not exceed ratio")
        if self.critical.ratio < self.ratio:
            raise ValueError("the critical tier must be at least as strict as the rule")
        return self


def evaluate(
    current: Stats, baseline: Stats, t: VolumeThresholds, *, window_s: int, baseline_s: float,
    market: Stats | None = None, seasonal: bool = False,
) -> Verdict:  # fmt: skip
    """The verdict for one scope; ``market`` is the market-wide baseline (None for ``all``);
    ``seasonal``: the baseline is the same time on earlier days (said in the reason)."""
    count = current.total

    def verdict(spiking: bool, holding: bool, severity: Severity | None, reason: str, *,
                expected: float = 0.0, ratio: float = 0.0, z: float = 0.0) -> Verdict:  # fmt: skip
        figures = {"count": count, "expected": expected, "ratio": ratio, "z": z}
        return Verdict(spiking, holding, severity, reason, figures)

    if count < t.min_docs:
        return verdict(False, False, None, "too few documents")
    history = baseline if market is None else market
    if history.total < t.min_baseline_docs:
        return verdict(False, False, None, "too small a baseline")
    expected = baseline.total * window_s / baseline_s
    if baseline.total < t.min_baseline_docs:  # too little history of its own: the floor
        expected = max(expected, t.expected_floor)
    expected = max(expected, 1.0)
    ratio = count / expected
    z = (count - expected) / math.sqrt(expected)
    holding = ratio >= t.resolve_ratio
    checks = ((ratio >= t.ratio, "ratio", ratio, t.ratio), (z >= t.z, "z", z, t.z))
    failed = [f"{what} {value:.2f} < {limit}" for ok, what, value, limit in checks if not ok]
    if failed:
        return verdict(False, holding, None, "; ".join(failed), expected=expected, ratio=ratio, z=z)
    severity: Severity = "critical" if ratio >= t.critical.ratio else "warning"
    when = " at this time of day" if seasonal else ""
    why = (f"{count} documents in the window, {ratio:.1f}x the {expected:.1f} expected{when} "
           f"(z {z:.1f})")  # fmt: skip
    return verdict(True, True, severity, why, expected=expected, ratio=ratio, z=z)


class VolumeSpike:
    """A surge of attention on a scope, whatever its tone."""

    name: ClassVar[str] = "volume_spike"
    summary: ClassVar[str] = "volume (buzz) spike: far more documents than the baseline rate"
    thresholds: ClassVar[type[RuleThresholds]] = VolumeThresholds

    def evaluate(
        self, current: Window, baseline: Window, t: VolumeThresholds, fallback: Window | None
    ) -> Verdict:
        """The volume verdict; reposts count once unless ``count_reposts``."""

        market = t.counted(fallback) if fallback is not None else None
        return evaluate(t.counted(current), t.counted(baseline), t, window_s=t.window_s,
                        baseline_s=baseline.span_s or t.baseline_s, market=market,
                        seasonal=bool(baseline.span_s))  # fmt: skip
