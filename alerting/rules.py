"""The negative-sentiment spike rule: pure code over window statistics, no I/O.

The current window of a scope is compared with the baseline window just before it. A spike
needs enough documents in both (or, for a scope too new to have a baseline, the market-wide
baseline), a negative share and count above floors, a ratio to the baseline share and a z-score
of the share above their thresholds. Counts are of first occurrences (``unique``), so reposts of
one story count once.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from streaming.windows import Stats

Severity = Literal["warning", "critical"]
SEVERITIES: tuple[Severity, ...] = ("warning", "critical")


class SeverityTier(BaseModel):
    """The least ratio and negative share that make a spike this severe."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    ratio: float = Field(ge=1.0)
    share: float = Field(ge=0.0, le=1.0)


class SpikeThresholds(BaseModel):
    """Everything an operator can tune about the spike rule for one scope (or kind of scope)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    window_s: int = Field(default=600, ge=60, le=86_400)
    baseline_s: int = Field(default=7200, ge=300, le=30 * 86_400)
    min_docs: int = Field(default=10, ge=1)
    min_baseline_docs: int = Field(default=30, ge=1)
    min_negative: int = Field(default=8, ge=1)
    share: float = Field(default=0.4, gt=0.0, le=1.0)
    ratio: float = Field(default=2.0, ge=1.0)
    z: float = Field(default=4.0, ge=0.0)
    # A baseline share below this is taken as this (no infinite ratio after a calm period).
    baseline_floor: float = Field(default=0.05, gt=0.0, le=1.0)
    pending_evaluations: int = Field(default=2, ge=1, le=100)
    # Hysteresis: a firing alert resolves only when share or ratio fall below these.
    resolve_share: float = Field(default=0.3, gt=0.0, le=1.0)
    resolve_ratio: float = Field(default=1.5, ge=1.0)
    cooldown_s: int = Field(default=900, ge=0)
    renotify_s: int = Field(default=1800, ge=60)
    critical: SeverityTier = SeverityTier(ratio=4.0, share=0.6)

    @model_validator(mode="after")
    def _consistent(self) -> SpikeThresholds:
        if self.resolve_share > self.share or self.resolve_ratio > self.ratio:
            raise ValueError("resolve_share/resolve_ratio must not exceed share/ratio")
        if self.critical.ratio < self.ratio or self.critical.share < self.share:
            raise ValueError("the critical tier must be at least as strict as the rule")
        return self


@dataclass(frozen=True)
class Verdict:
    """What the rule says about one scope at one evaluation."""

    spiking: bool
    holding: bool  # still above the resolve thresholds (hysteresis)
    severity: Severity | None
    share: float
    baseline_share: float
    ratio: float
    z: float
    reason: str

    def as_dict(self) -> dict[str, object]:
        """JSON-ready."""
        return {
            "spiking": self.spiking,
            "holding": self.holding,
            "severity": self.severity,
            "share": round(self.share, 4),
            "baseline_share": round(self.baseline_share, 4),
            "ratio": round(self.ratio, 3),
            "z": round(self.z, 3),
            "reason": self.reason,
        }


def _z(share: float, base: float, n: int) -> float:
    variance = max(base * (1 - base), 1e-4) / n
    return (share - base) / math.sqrt(variance)


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
        return Verdict(False, False, None, share, 0.0, 0.0, 0.0, "too few documents")
    if base_stats.total < t.min_baseline_docs:
        return Verdict(False, False, None, share, 0.0, 0.0, 0.0, "too small a baseline")
    base = base_stats.negative_share
    ratio = share / max(base, t.baseline_floor)
    z = _z(share, base, current.total)
    holding = share >= t.resolve_share and ratio >= t.resolve_ratio
    checks = {
        f"negative share {share:.2f} < {t.share}": share >= t.share,
        f"negative count {current.negative} < {t.min_negative}": current.negative >= t.min_negative,
        f"ratio {ratio:.2f} < {t.ratio}": ratio >= t.ratio,
        f"z {z:.2f} < {t.z}": z >= t.z,
    }
    failed = [text for text, ok in checks.items() if not ok]
    if failed:
        return Verdict(False, holding, None, share, base, ratio, z, "; ".join(failed))
    critical = ratio >= t.critical.ratio and share >= t.critical.share
    severity: Severity = "critical" if critical else "warning"
    return Verdict(True, True, severity, share, base, ratio, z, "spike")
