"""Threshold sets: per rule, validated as a whole, naming the offending field."""

from __future__ import annotations

import pytest

from alerting.rules.negative_spike import SpikeThresholds
from alerting.thresholds import ThresholdError, ThresholdSet, apply_change, initial_set

RULE = "negative_spike"


def test_the_defaults_file_gives_version_1_for_every_kind() -> None:
    first = initial_set()
    assert first.version == 1
    assert set(first.of(RULE).defaults) == {"all", "topic", "ticker", "source"}
    assert first.for_scope(RULE, "ticker:ACME").min_docs == 10  # from alerting/defaults.yaml


def test_a_change_merges_validates_and_bumps_the_version() -> None:
    first = initial_set()
    second = apply_change(first, {"ticker": {"ratio": 3}}, {"ticker:ACME": {"min_docs": 3}})
    assert second.version == 2
    spike = second.of(RULE)
    assert spike.defaults["ticker"] == SpikeThresholds(min_docs=10, ratio=3)
    assert spike.defaults["topic"] == SpikeThresholds(min_docs=10)
    assert second.for_scope(RULE, "ticker:ACME") == SpikeThresholds(min_docs=3, ratio=3)
    assert second.for_scope(RULE, "ticker:OTHER").min_docs == 10
    third = apply_change(second, None, {"ticker:ACME": None})  # null removes the override
    assert "ticker:ACME" not in third.of(RULE).overrides


@pytest.mark.parametrize(
    ("defaults", "overrides", "field"),
    [
        ({"ticker": {"ratio": "abc"}}, None, "defaults.ticker.ratio"),
        ({"ticker": {"ratio": 0.5}}, None, "defaults.ticker.ratio"),
        ({"ticker": {"no_such_key": 1}}, None, "defaults.ticker.no_such_key"),
        ({"sector": {"ratio": 2}}, None, "defaults.sector"),
        (None, {"ACME": {"ratio": 2}}, "overrides.ACME"),
        (None, {"ticker:ACME": {"share": 2}}, "overrides.ticker:ACME.share"),
        ({"topic": {"share": 0.2}}, None, "defaults.topic"),  # below resolve_share 0.3
    ],
)
def test_a_bad_change_is_refused_naming_the_field(
    defaults: dict[str, object] | None, overrides: dict[str, object] | None, field: str
) -> None:
    with pytest.raises(ThresholdError) as caught:
        apply_change(initial_set(), defaults, overrides)
    assert caught.value.field == field


def test_a_change_is_validated_with_every_existing_override() -> None:
    # An override that was fine becomes inconsistent with new defaults: the change is refused,
    # instead of an evaluator failing on that scope at its next tick.
    first = apply_change(initial_set(), None, {"topic:Fed": {"resolve_share": 0.35}})
    with pytest.raises(ThresholdError) as caught:
        apply_change(first, {"topic": {"share": 0.34}}, None)
    assert caught.value.field.startswith("overrides.topic:Fed")


def test_an_unknown_rule_is_refused_naming_the_known_ones() -> None:
    with pytest.raises(ThresholdError, match="negative_spike") as caught:
        apply_change(initial_set(), {"ticker": {"ratio": 3}}, None, rule="no_such_rule")
    assert caught.value.field == "rule"


def test_a_set_stored_before_rules_were_plugins_is_read_as_the_spike_rule() -> None:
    legacy = {
        "version": 7,
        "defaults": {"all": {"min_docs": 30}, "topic": {}, "ticker": {"ratio": 3}, "source": {}},
        "overrides": {"ticker:ACME": {"min_docs": 4}},
    }
    tset = ThresholdSet.model_validate(legacy)
    assert tset.version == 7
    assert tset.for_scope(RULE, "ticker:ACME") == SpikeThresholds(min_docs=4, ratio=3)
    assert ThresholdSet.model_validate_json(tset.model_dump_json()) == tset
