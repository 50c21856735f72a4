"""The mean-score drop rule: the mean sentiment score of a scope far below its baseline's.
Pure code over window statistics, no I/O.

The score of a document is p_pos - p_neg, so the mean falls when negative documents grow or
positive ones fade: a slide in tone the negative share alone can miss. A drop needs at least
``min_docs`` documents, the mean ``drop`` below the baseline's and a z-score of the drop above
``z``; the spread of the scores is estimated from the baseline's label shares (a score near
+1, 0 or -1 for each label). A scope too new to have a baseline of its own is compared with the
market-wide one. Counts are of first occurrences, so reposts of one story count once.
"""

from __future__ import annotations

import math
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

from alerting.rules.base import RuleThresholds, Severity, Verdict
from streaming.windows import Stats, Window

# The least spread of the scores assumed (a baseline of one label only still varies a little).
MIN_VARIANCE = 0.05


class DropTier(BaseModel):
    """The least drop that makes a slide this severe."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    drop: float = Field(gt=0.0, le=2.0)


class DropThresholds(RuleThresholds):
    """Everything an operator can tune about the mean-score rule for one scope (or kind)."""

    min_docs: int = Field(default=15, ge=1)
    drop: float = Field(default=0.45, gt=0.0, le=2.0)
    z: float = Field(default=4.0, ge=0.0)
    # Hysteresis: a firing alert resolves when the drop falls below this.
    resolve_drop: float = Field(default=0.25, gt=0.0, le=2.0)
    critical: DropTier = DropTier(drop=0.9)

    @model_validator(mode="after")
    def _consistent(self) -> DropThresholds:
        if self.resolve_drop > self.drop:
            raise ValueError("resolve_drop must not exceed drop")
        if self.critical.drop < self.drop:
            raise ValueError("the critical tier must be at least as strict as the rule")
        return self


def spread(stats: Stats) -> float:
    """The variance of the scores, estimated from the label shares."""
    if not stats.total:
        return 1.0
    pos, neg = stats.positive / stats.total, stats.negative / stats.total
    return max(pos + neg - (pos - neg) ** 2, MIN_VARIANCE)


def evaluate(
    current: Stats, baseline: Stats, t: DropThresholds, fallback: Stats | None = None
) -> Verdict:
    """The verdict for one scope; ``fallback``: the baseline used when the scope's own is too
    small (the market-wide one)."""
    mean = current.mean_score

    def verdict(spiking: bool, holding: bool, severity: Severity | None, reason: str, *,
                base: float = 0.0, drop: float = 0.0, z: float = 0.0) -> Verdict:  # fmt: skip
        figures = {"mean_score": mean, "baseline_mean": base, "drop": drop, "z": z}
        return Verdict(spiking, holding, severity, reason, figures)

    base_stats = baseline
    if baseline.total < t.min_baseline_docs and fallback is not None:
        base_stats = fallback
    if current.total < t.min_docs:
        return verdict(False, False, None, "too few documents")
    if base_stats.total < t.min_baseline_docs:
        return verdict(False, False, None, "too small a baseline")
    base = base_stats.mean_score
    drop = base - mean
    z = drop / math.sqrt(spread(base_stats) / current.total)
    holding = drop >= t.resolve_drop
    checks = ((drop >= t.drop, "drop", drop, t.drop), (z >= t.z, "z", z, t.z))
    failed = [f"{what} {value:.2f} < {limit}" for ok, what, value, limit in checks if not ok]
    if failed:
        return verdict(False, holding, None, "; ".join(failed), base=base, drop=drop, z=z)
    severity: Severity = "critical" if drop >= t.critical.drop else "warning"
    why = (f"mean score {mean:+.2f} over {current.total} documents, {drop:.2f} below the "
           f"baseline's {base:+.2f} (z {z:.1f})")  # fmt: skip
    return verdict(True, True, severity, why, base=base, drop=drop, z=z)


class SentimentDrop:
    """A slide in the mean sentiment score, over first occurrences."""

    name: ClassVar[str] = "sentiment_drop"
    summary: ClassVar[str] = "mean-score drop: the mean sentiment far below its baseline"
    thresholds: ClassVar[type[RuleThresholds]] = DropThresholds

    def evaluate(
        self, current: Window, baseline: Window, t: DropThresholds, fallback: Window | None
    ) -> Verdict:
        """The drop verdict on the windows' first occurrences."""
        market = t.counted(fallback) if fallback is not None else None
        return evaluate(t.counted(current), t.counted(baseline), t, market)
