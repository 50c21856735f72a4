"""Incidents: the alerts one burst fires together are one incident, announced once; another
company's burst at the same time is an incident of its own; a firing market groups its
children."""

from __future__ import annotations

import time
import uuid
from datetime import datetime

from alerting.alert_store import MemoryAlertStore
from alerting.evaluator import Evaluator
from alerting.incidents import announces, same_burst
from alerting.notifiers import MemoryDispatcher
from alerting.records import Alert, Example, Scope
from alerting.threshold_store import MemoryThresholdStore
from streaming.window_store import Countable, MemoryWindowStore

ACME, TOPIC, BETA = "ticker:ACME", "topic:Earnings", "ticker:BETA"


class Stories:
    """Evidence as Elasticsearch would give it: ACME's story behind its ticker and topic
    alerts, BETA's own story behind BETA's."""

    def examples(
        self, scope: Scope, start: datetime, end: datetime, size: int
    ) -> tuple[list[Example], str | None]:
        story = "beta-story" if scope.name == BETA else "acme-story"
        ticker = "BETA" if scope.name == BETA else "ACME"
        example = Example(id=f"{story}-1", text=f"{ticker} news", published_at=end,
                          score=-0.9, tickers=[ticker], story_id=story)  # fmt: skip
        return [example], "v1"

    def overlap(self, one: Scope, other: Scope, start: datetime, end: datetime
                ) -> tuple[int, int, int]:  # fmt: skip
        return 0, 0, 0  # the stories say it all here


def _docs(count: int, label: str, at: float, scopes: tuple[str, ...]) -> list[Countable]:
    score = {"negative": -0.8, "neutral": 0.0, "positive": 0.7}[label]
    return [Countable(i, i, label, score, at - n, scopes)
            for n, i in enumerate(uuid.uuid4().hex for _ in range(count))]  # fmt: skip


def _market(windows: MemoryWindowStore, now: float) -> None:
    """Two busy hours up to now: 30 neutral and 3 negative documents a minute."""
    for minute in range(120):
        windows.add(_docs(30, "neutral", now - minute * 60, ("all", "source:news")))
        windows.add(_docs(3, "negative", now - minute * 60, ("all", "source:news")))


def _run(windows: MemoryWindowStore, now: float, ticks: int = 3
         ) -> tuple[MemoryAlertStore, MemoryDispatcher]:  # fmt: skip
    alerts, dispatcher = MemoryAlertStore(), MemoryDispatcher()
    clock = [now]
    evaluator = Evaluator(windows, MemoryThresholdStore(), alerts, dispatcher, Stories(),
                          clock=lambda: clock[0])  # fmt: skip
    for _ in range(ticks):
        evaluator.tick()
        clock[0] += 5
    return alerts, dispatcher


def _fired(alerts: MemoryAlertStore) -> list[Alert]:
    return [a for a in alerts.recent() if a.fired_at is not None]


def test_one_burst_is_one_incident_announced_once_and_another_company_its_own() -> None:
    now = time.time()
    windows = MemoryWindowStore()
    _market(windows, now)
    windows.add(_docs(40, "negative", now - 30, ("all", ACME, TOPIC, "source:news")))
    windows.add(_docs(40, "positive", now - 30, ("all", BETA, "source:news")))
    alerts, dispatcher = _run(windows, now)

    fired = _fired(alerts)
    scopes = {a.scope.name for a in fired}
    assert scopes == {ACME, TOPIC, BETA}, scopes
    by_incident: dict[str | None, set[str]] = {}
    for a in fired:
        by_incident.setdefault(a.incident, set()).add(a.scope.name)
    assert sorted(by_incident.values(), key=len) == [{BETA}, {ACME, TOPIC}]
    acme_incident = next(i for i, s in by_incident.items() if ACME in s)
    lead = alerts.get(str(acme_incident))
    assert lead is not None
    members = [a for a in fired if a.incident == acme_incident and a.id != lead.id]
    assert {r.id for r in lead.related} == {a.id for a in members}

    # Every event is kept and streamed; people are told once per incident.
    announced = [(a.scope.name, e) for a, e in dispatcher.events
                 if e == "fired" and announces(a, e)]  # fmt: skip
    assert sorted(s for s, _ in announced) == sorted([lead.scope.name, BETA])
    assert len([e for a, e in dispatcher.events if e == "fired"]) == len(fired)


def test_a_firing_market_groups_the_alerts_of_its_rule_that_follow() -> None:
    now = time.time()
    windows = MemoryWindowStore()
    _market(windows, now - 20 * 60)  # the market went quiet twenty minutes ago...
    # ...and now a market-wide wave of bad news, that ACME's burst is part of.
    windows.add(_docs(60, "negative", now - 60, ("all", "source:news")))
    windows.add(_docs(30, "negative", now - 30, ("all", ACME, "source:news")))
    alerts, dispatcher = _run(windows, now)

    spikes = {a.scope.name: a for a in _fired(alerts) if a.rule == "negative_spike"}
    assert {"all", ACME} <= set(spikes), set(spikes)
    market = spikes["all"]
    assert market.incident == market.id
    assert spikes[ACME].incident == market.id
    announced = {a.scope.name for a, e in dispatcher.events
                 if e == "fired" and a.rule == "negative_spike" and announces(a, e)}  # fmt: skip
    assert announced == {"all"}


def test_two_windows_are_one_burst_when_they_share_most_of_their_documents() -> None:
    assert same_burst(40, 100, 40)  # a company's burst: all its ticker, much of its topic
    assert not same_burst(40, 400, 40)  # another company's, a tenth of the wire
    assert not same_burst(40, 60, 10)  # two scopes that merely meet
    assert not same_burst(0, 0, 0)
