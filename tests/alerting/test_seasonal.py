"""Seasonal baselines: the daily open is not a spike against the same time on earlier days,
while a real surge at that time still is; weekdays are compared with weekdays."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime

from alerting.alert_store import MemoryAlertStore
from alerting.baselines import lookback_s, same_time_earlier
from alerting.evaluator import Evaluator
from alerting.notifiers import MemoryDispatcher
from alerting.rules.volume_spike import VolumeSpike
from alerting.threshold_store import MemoryThresholdStore
from alerting.thresholds import apply_change, initial_set
from streaming.window_store import Countable, MemoryWindowStore

SCOPES = ("all", "source:news")
OPEN = 13 * 3600 + 1800  # 13:30 UTC


def _day(at: datetime) -> str:
    return at.strftime("%a %H:%M")


def test_weekdays_are_compared_with_weekdays_and_weekends_with_weekends() -> None:
    monday = datetime(2026, 11, 30, 13, 40, tzinfo=UTC).timestamp()
    days = [_day(datetime.fromtimestamp(t, UTC)) for t in same_time_earlier(monday, 5, "UTC")]
    assert days == ["Fri 13:40", "Thu 13:40", "Wed 13:40", "Tue 13:40", "Mon 13:40"]
    sunday = datetime(2026, 11, 29, 9, 0, tzinfo=UTC).timestamp()
    days = [_day(datetime.fromtimestamp(t, UTC)) for t in same_time_earlier(sunday, 3, "UTC")]
    assert days == ["Sat 09:00", "Sun 09:00", "Sat 09:00"]
    assert lookback_s(5) >= monday - min(same_time_earlier(monday, 5, "UTC"))


def test_a_local_time_zone_follows_the_open_across_daylight_saving() -> None:
    # New York moved its clocks on Sunday 8 March 2026: the open is 13:30 UTC from Monday on,
    # 14:30 UTC on the Friday before.
    monday_open = datetime(2026, 3, 9, 13, 30, tzinfo=UTC).timestamp()
    [friday] = same_time_earlier(monday_open, 1, "America/New_York")
    assert datetime.fromtimestamp(friday, UTC) == datetime(2026, 3, 6, 14, 30, tzinfo=UTC)


def _add_day(windows: MemoryWindowStore, midnight: float, *, extra_at: float | None = None
             ) -> None:  # fmt: skip
    """A trading day's news: 2 documents a minute from 10:00, 12 a minute from the open at 13:30
    to 16:00; ``extra_at``: 300 more in the ten minutes before it."""
    docs = []
    for minute in range(10 * 60, 16 * 60):
        at = midnight + minute * 60
        for _ in range(12 if minute * 60 >= OPEN else 2):
            doc_id = uuid.uuid4().hex
            docs.append(Countable(doc_id, doc_id, "neutral", 0.0, at + 1, SCOPES))
    if extra_at is not None:
        for i in range(300):
            doc_id = uuid.uuid4().hex
            docs.append(Countable(doc_id, doc_id, "positive", 0.6, extra_at - 1 - i * 2, SCOPES))
    windows.add(docs)


def _volume_alerts(history_days: int, *, at_s: int, seasonal: bool, burst: bool = False
                   ) -> list[str]:  # fmt: skip
    """The scopes the volume rule fires on at ``at_s`` after midnight of the latest Wednesday,
    after ``history_days`` earlier weekdays of the same traffic."""
    today = time.time() // 86_400 * 86_400 - 86_400
    while datetime.fromtimestamp(today, UTC).weekday() != 2:  # the latest Wednesday
        today -= 86_400
    windows = MemoryWindowStore(retention_s=30 * 86_400)
    for day_s in same_time_earlier(today, history_days, "UTC"):
        _add_day(windows, day_s)
    _add_day(windows, today, extra_at=today + at_s if burst else None)
    limits = {"min_docs": 50, "ratio": 3.0, "expected_floor": 10.0,
              "baseline": "seasonal" if seasonal else "recent"}  # fmt: skip
    tset = apply_change(initial_set(), {"all": limits, "source": limits}, None, VolumeSpike.name)
    alerts = MemoryAlertStore()
    clock = [today + at_s]
    evaluator = Evaluator(windows, MemoryThresholdStore(tset), alerts, MemoryDispatcher(), None,
                          clock=lambda: clock[0])  # fmt: skip
    for _ in range(3):
        evaluator.tick()
        clock[0] += 5
    return sorted(a.scope.name for a in alerts.recent() if a.rule == VolumeSpike.name
                  and a.state == "firing")  # fmt: skip


def test_the_open_is_a_spike_against_the_quiet_hours_before_it() -> None:
    assert _volume_alerts(5, at_s=OPEN + 600, seasonal=False) == ["all", "source:news"]


def test_the_open_is_ordinary_against_the_same_time_on_earlier_weekdays() -> None:
    assert _volume_alerts(5, at_s=OPEN + 600, seasonal=True) == []


def test_a_surge_at_the_open_still_fires_against_the_seasonal_baseline() -> None:
    assert _volume_alerts(5, at_s=OPEN + 600, seasonal=True, burst=True) == [
        "all", "source:news"]  # fmt: skip


def test_without_enough_days_of_history_the_recent_baseline_is_used() -> None:
    assert _volume_alerts(2, at_s=OPEN + 600, seasonal=True) == ["all", "source:news"]
