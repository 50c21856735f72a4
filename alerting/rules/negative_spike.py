"""The negative-sentiment spike rule: pure code over window statistics, no I/O.

The current window of a scope is compared with the baseline window just before it. A spike
needs enough documents in both (or, for a scope too new to have a baseline, the market-wide
baseline), a negative share and count above floors, a ratio to the baseline share and a z-score
of the share above their thresholds. Counts are of first occurrences (``unique``), so reposts of
one story count once.
"""

from __future__ import annotations

import math
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

from alerting.rules.base import RuleThresholds, Severity, Verdict
from streaming.windows import Stats, Window


class SeverityTier(BaseModel):
    """The least ratio and negative share that make a spike this severe."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    ratio: float = Field(ge=1.0)
    share: float = Field(ge=0.0, le=1.0)


class SpikeThresholds(RuleThresholds):
    """Everything an operator can tune about the spike rule for one scope (or kind of scope)."""

    min_negative: int = Field(default=8, ge=1)
    share: float = Field(default=0.4, gt=0.0, le=1.0)
    ratio: float = Field(default=2.0, ge=1.0)
    z: float = Field(default=4.0, ge=0.0)
    # A baseline share below this is taken as this (no infinite ratio after a calm period).
    baseline_floor: float = Field(default=0.05, gt=0.0, le=1.0)
    # Hysteresis: a firing alert resolves only when share or ratio fall below these.
    resolve_share: float = Field(default=0.3, gt=0.0, le=1.0)
    resolve_ratio: float = Field(default=1.5, ge=1.0)
    critical: SeverityTier = SeverityTier(ratio=4.0, share=0.6)

    @model_validator(mode="after")
    def _consistent(self) -> SpikeThresholds:
        if self.resolve_share > self.share or self.resolve_ratio > self.ratio:
            raise ValueError("resolve_share/resolve_ratio must not exceed share/ratio")
        if self.critical.ratio < self.ratio or self.critical.share < self.share:
            raise ValueError("the critical tier must be at least as strict as the rule")
        return self


def _z(share: float, base: float, n: int) -> float:
    variance = max(base * (1 - base), 1e-4) / n
    return (share - base) / math.sqrt(variance)


def _verdict(
    spiking: bool, holding: bool, severity: Severity | None, reason: str, share: float,
    *, base: float = 0.0, ratio: float = 0.0, z: float = 0.0,
) -> Verdict:  # fmt: skip
    figures = {"share": share, "baseline_share": base, "ratio": ratio, "z": z}
    return Verdict(spiking, holding, severity, reason, figures)


def evaluate(
    current: Stats, baseline: Stats, t: SpikeThresholds, fallback: Stats | None = None
) -> Verdict:
    """The verdict for one scope; ``fallback`` is the baseline used when the scope's own is
    too small (the market-wide one, for a ticker nobody talked about before)."""
    share = current.negative_share
    base_stats = baseline
    if baseline.total < t.min_baseline_docs and fallback is not None:
        base_stats = fallback
    if current.total < t.min_docs:
        return _verdict(False, False, None, "too few documents", share)
    if base_stats.total < t.min_baseline_docs:
        return _verdict(False, False, None, "too small a baseline", share)
    base = base_stats.negative_share
    ratio = share / max(base, t.baseline_floor)
    z = _z(share, base, current.total)
    holding = share >= t.resolve_share and ratio >= t.resolve_ratio
    # (passed, what, value, its format, threshold); the text only for those that failed.
    checks = (
        (share >= t.share, "negative share", share, ".2f", t.share),
        (current.negative >= t.min_negative, "negative count", current.negative, "d",
         t.min_negative),
        (ratio >= t.ratio, "ratio", ratio, ".2f", t.ratio),
        (z >= t.z, "z", z, ".2f", t.z),
    )  # fmt: skip
    failed = [f"{what} {value:{spec}} < {limit}" for ok, what, value, spec, limit in checks
              if not ok]  # fmt: skip
    if failed:
        return _verdict(False, holding, None, "; ".join(failed), share, base=base, ratio=ratio, z=z)
    critical = ratio >= t.critical.ratio and share >= t.critical.share
    severity: Severity = "critical" if critical else "warning"
    why = (
        f"{share:.0%} of {current.total} documents negative, {ratio:.1f}x the baseline's "
        f"{base:.0%} (z {z:.1f})"
    )
    return _verdict(True, True, severity, why, share, base=base, ratio=ratio, z=z)


class NegativeSpike:
    """The negative-share spike, over first occurrences (reposts of one story count once)."""

    name: ClassVar[str] = "negative_spike"
    summary: ClassVar[str] = "negative-sentiment spike: the negative share far above its baseline"
    thresholds: ClassVar[type[RuleThresholds]] = SpikeThresholds

    def evaluate(
        self, current: Window, baseline: Window, t: SpikeThresholds, fallback: Window | None
    ) -> Verdict:
        """The spike verdict on the windows' first occurrences."""
        market = t.counted(fallback) if fallback is not None else None
        return evaluate(t.counted(current), t.counted(baseline), t, market)
