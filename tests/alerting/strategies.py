"""Hypothesis strategies shared by the rule and lifecycle property tests."""

from __future__ import annotations

from hypothesis import strategies as st

from alerting.rules.negative_spike import SpikeThresholds

# Spike thresholds over the ranges operators use (every one consistent by construction).
thresholds = st.builds(
    SpikeThresholds,
    min_docs=st.integers(1, 50),
    min_baseline_docs=st.integers(1, 100),
    min_negative=st.integers(1, 20),
    share=st.floats(0.3, 0.6),
    ratio=st.floats(1.5, 3.0),
    z=st.floats(0, 6),
    pending_evaluations=st.integers(1, 5),
    cooldown_s=st.integers(0, 3600),
    renotify_s=st.integers(60, 3600),
)
