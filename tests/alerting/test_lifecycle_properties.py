"""Properties of the alert lifecycle, over generated histories of verdicts."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from alerting.lifecycle import ScopeState, step
from alerting.rules.base import Verdict
from alerting.rules.negative_spike import SpikeThresholds
from tests.alerting.strategies import thresholds


def _verdict(kind: str) -> Verdict:
    spiking, holding = {"spike": (True, True), "hold": (False, True), "calm": (False, False)}[kind]
    return Verdict(spiking, holding, "warning" if spiking else None, kind, {"share": 0.5})


histories = st.lists(
    st.tuples(st.sampled_from(["spike", "hold", "calm"]), st.integers(1, 900)), max_size=60
)


@given(histories, thresholds)
def test_the_lifecycle_fires_resolves_and_cools_down_as_promised(
    history: list[tuple[str, int]], t: SpikeThresholds
) -> None:
    state, now, streak = ScopeState(), 0.0, 0
    resolved_at: float | None = None
    firing = False
    for kind, gap in history:
        now += gap
        verdict = _verdict(kind)
        before = state
        state, event = step(state, verdict, now, t, new_id=f"a{now}")
        in_cooldown = resolved_at is not None and now < resolved_at + t.cooldown_s
        streak = streak + 1 if (kind == "spike" and not firing and not in_cooldown) else 0
        if event == "fired":
            # Only after pending_evaluations spiking evaluations in a row, outside a cool-down.
            assert not in_cooldown and streak >= t.pending_evaluations
            assert verdict.spiking and not firing
            firing = True
        elif event == "resolved":
            # Only a firing alert resolves, and only once below the resolve thresholds.
            assert firing and not verdict.holding
            firing, resolved_at, streak = False, now, 0
        elif event in ("pending",):
            assert not in_cooldown and verdict.spiking
        if firing:
            assert state.phase == "firing" and state.alert_id is not None
            if before.phase == "firing":
                assert state.alert_id == before.alert_id  # one alert for the whole episode
        if not verdict.spiking and not firing:
            assert event in (None, "dropped", "resolved")
