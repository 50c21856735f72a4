"""Which daily indices the retention deletes: by the day in their name, never another's."""

from __future__ import annotations

from datetime import date

from streaming.retention import expired, index_day


def test_only_this_prefixs_daily_indices_older_than_the_retention_expire() -> None:
    names = [
        "u-docs-2026.10.31",  # 34 days before 2026-12-04
        "u-docs-2026.11.03",  # 31 days
        "u-docs-2026.11.04",  # exactly 30 days: kept
        "u-docs-2026.12.04",
        "other-docs-1999.01.01",  # another deployment's
        "u-alerts",
        "u-docs-2026.13.45",  # not a day
        "u-docs-broken",
    ]
    assert expired(names, "u", 30, date(2026, 12, 4)) == ["u-docs-2026.10.31", "u-docs-2026.11.03"]


def test_a_prefix_that_is_a_prefix_of_another_is_kept_apart() -> None:
    assert index_day("u-docs-2020.01.01", "u") == date(2020, 1, 1)
    assert index_day("uu-docs-2020.01.01", "u") is None
