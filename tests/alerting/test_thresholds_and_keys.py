"""Threshold changes are validated as a whole and name the offending field; API keys."""

from __future__ import annotations

from pathlib import Path

import pytest

from alerting.auth import KeyRing, digest
from alerting.backtest import with_values
from alerting.exceptions import ConfigError
from alerting.thresholds import ThresholdError, apply_change, initial_set


def test_the_defaults_file_gives_version_1_for_every_kind() -> None:
    first = initial_set()
    assert first.version == 1
    assert set(first.defaults) == {"all", "topic", "ticker", "source"}
    assert first.for_scope("ticker:ACME").min_docs == 10  # from alerting/defaults.yaml


def test_a_change_merges_validates_and_bumps_the_version() -> None:
    first = initial_set()
    second = apply_change(first, {"ticker": {"ratio": 3}}, {"ticker:ACME": {"min_docs": 3}})
    assert second.version == 2
    assert second.defaults["ticker"].ratio == 3 and second.defaults["topic"].ratio == 2.0
    assert second.for_scope("ticker:ACME").min_docs == 3
    assert second.for_scope("ticker:ACME").ratio == 3  # the kind's new default underneath
    assert second.for_scope("ticker:OTHER").min_docs == 10
    third = apply_change(second, None, {"ticker:ACME": None})  # null removes the override
    assert "ticker:ACME" not in third.overrides


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


def test_backtest_assignments_apply_per_kind_or_to_all() -> None:
    changed = with_values(initial_set(), ["ratio=3", "ticker.min_docs=4"])
    assert {t.ratio for t in changed.defaults.values()} == {3.0}
    assert changed.defaults["ticker"].min_docs == 4 and changed.defaults["topic"].min_docs == 10
    with pytest.raises(ThresholdError, match="sector"):
        with_values(initial_set(), ["sector.ratio=3"])


def test_keys_have_roles_and_bad_entries_fail_at_start(tmp_path: Path) -> None:
    ring = KeyRing.load("analyst:aaaaaaaa1,analyst:aaaaaaaa2,operator:oooooooo1")
    assert ring.role_of("aaaaaaaa2") == "analyst"
    assert ring.role_of("oooooooo1") == "operator"
    assert ring.role_of("oooooooo") is None
    hashed = tmp_path / "keys"
    hashed.write_text(f"# role:sha256\noperator:{digest('from-the-file-1')}\n")
    assert KeyRing.load("", hashed).role_of("from-the-file-1") == "operator"
    for bad in ("admin:xxxxxxxxxx", "analyst:short", "nocolon"):
        with pytest.raises(ConfigError, match="UNDERTOW_API_KEYS entry 1"):
            KeyRing.load(bad)
