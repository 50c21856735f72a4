"""Seasonal baselines: the same time of day on earlier days of the same kind.

News volume follows the trading day: the US open at 13:30 UTC (14:30 in the northern winter)
triples the flow within minutes, and the close drops it. Against the two quiet hours before it
(the recent baseline) every open looks like a spike; against the same half-hour of the previous
weekdays it is ordinary. A rule's thresholds choose per scope kind (``baseline: seasonal``).

The choice for weekends: a weekday is compared with the previous weekdays and a Saturday or
Sunday with the previous weekend days. Markets are closed at weekends and news runs at a
fraction of its weekday volume, so comparing Monday's open with Sunday would fire on every
Monday, and a weekend measured against weekdays would never fire at all. A market holiday
counts as the weekday it falls on: it lowers that weekday's baseline a little for the days
after, and is itself compared with ordinary weekdays (quiet: nothing fires). Days are calendar
days in the rule's ``timezone`` (UTC unless set; ``America/New_York`` keeps the US open at the
same local time across daylight-saving changes).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

# Any Monday: the reference week for the longest look back a number of days needs.
_A_MONDAY = datetime(2024, 1, 1, 12, tzinfo=UTC).timestamp()


def is_weekend(day: datetime) -> bool:
    """Saturday or Sunday."""
    return day.weekday() >= 5


def same_time_earlier(now_s: float, days: int, timezone: str) -> list[float]:
    """The same local time of day as ``now_s`` on the ``days`` previous days of its kind
    (weekdays, or weekend days) in ``timezone``, most recent first, as epoch seconds."""
    zone = ZoneInfo(timezone)
    local = datetime.fromtimestamp(now_s, zone)
    weekend = is_weekend(local)
    found: list[float] = []
    day = local.date()
    while len(found) < days:
        day -= timedelta(days=1)
        if (day.weekday() >= 5) == weekend:
            found.append(datetime.combine(day, local.time(), zone).timestamp())
    return found


def lookback_s(days: int) -> float:
    """The most seconds ``same_time_earlier`` reaches back for ``days`` days, over a week
    (plus an hour for a daylight-saving change)."""
    worst = 0.0
    for d in range(7):
        now = _A_MONDAY + d * 86_400
        worst = max(worst, now - min(same_time_earlier(now, days, "UTC")))
    return worst + 3600
