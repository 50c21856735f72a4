"""The rule registry: every rule the evaluator runs, by name.

Adding a rule is one module in this package, one line here and its defaults in
alerting/defaults.yaml; thresholds, the evaluator, the backtest, the API and the web page find it
here. Read REGISTRY when needed, never copy it at import time (tests register rules of their own).
"""

from __future__ import annotations

from typing import Any

from alerting.rules.base import Rule
from alerting.rules.negative_spike import NegativeSpike
from alerting.rules.sentiment_drop import SentimentDrop
from alerting.rules.volume_spike import VolumeSpike

REGISTRY: dict[str, Rule[Any]] = {
    NegativeSpike.name: NegativeSpike(),
    VolumeSpike.name: VolumeSpike(),
    SentimentDrop.name: SentimentDrop(),
}
DEFAULT_RULE = NegativeSpike.name
