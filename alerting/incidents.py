"""Incidents: the alerts one burst fires together, announced to people once.

A negative story about ACME fires the negative-share spike on ``ticker:ACME``, the volume
rule there too, and perhaps both on ``topic:Earnings`` and ``source:news`` within minutes.
Paging an analyst five times for one story is noise. So the first alert opens an incident and
an alert fired after it joins that incident when, within ``window_s`` of an alert of the
incident, it is about the same scope (another rule), or it shares evidence with an alert of the
incident (a story or a document among its examples, or a ticker most of the other's examples
name), or the two windows hold largely the same documents (``same_burst``: ACME's story is
most of ``ticker:ACME`` and a good part of ``topic:Earnings``); and while a market-wide alert
(``all``) fires, every alert of the same rule, or sharing its evidence, joins its incident
whatever its age: the market explains them.

Every alert is still kept, indexed, streamed to the page and produced to Kafka with its
``incident``; only the notifiers that page people (webhooks, Slack) announce an incident once:
its lead's events, and a member's escalation (news the lead's page does not carry).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from datetime import datetime

from alerting.records import NOTICES, Alert, AlertEvent, Related


def announces(alert: Alert, event: AlertEvent) -> bool:
    """Whether a notifier for people sends this event: any lifecycle event of an alert that
    leads its incident (or has none), and the escalation of one grouped into another's; what
    analysts do to an alert (acknowledge, note), and a lead's list of its incident, page
    nobody."""
    if event in NOTICES:
        return False
    return alert.incident in (None, alert.id) or event == "escalated"


def _names_most(examples: Iterable[list[str]], ticker: str) -> bool:
    tickers = list(examples)
    return bool(tickers) and sum(ticker in t for t in tickers) * 2 >= len(tickers)


def shares_evidence(one: Alert, other: Alert) -> bool:
    """A story or document among both alerts' examples, or one's ticker named by at least
    half of the other's examples."""
    mine = {e.story_id or e.id for e in one.examples}
    if mine & {e.story_id or e.id for e in other.examples}:
        return True
    for a, b in ((one, other), (other, one)):
        ticker = a.scope.value if a.scope.kind == "ticker" else None
        if ticker is not None and _names_most((e.tickers for e in b.examples), ticker):
            return True
    return False


def same_burst(one: int, other: int, both: int) -> bool:
    """Whether two scopes' windows (``one`` and ``other`` documents, ``both`` in the two) hold
    largely the same documents: the shared ones are at least half of the smaller window and a
    quarter of the larger. A company's burst is its ticker's window and a good part of its
    topic's; another company's, also on the wire, is a tenth of ``source:news``."""
    return both > 0 and both >= 0.5 * min(one, other) and both >= 0.25 * max(one, other)


# Whether two alerts' windows hold largely the same documents (the evaluator asks the evidence).
Overlaps = Callable[[Alert, Alert], bool]


def _close(alert: Alert, other: Alert, at: datetime, window_s: float) -> bool:
    """``other`` fires, and fired within ``window_s`` before ``at`` or is market-wide."""
    if other.id == alert.id or other.state != "firing" or other.fired_at is None:
        return False
    market = other.scope.kind == "all" and alert.scope.kind != "all"
    return market or (at - other.fired_at).total_seconds() <= window_s


def belongs(alert: Alert, other: Alert, at: datetime, window_s: float) -> bool:
    """Whether ``alert``, firing at ``at``, joins the incident of ``other`` (a firing alert)
    on what the two alerts say (no search: see ``incident_of`` for shared documents)."""
    if not _close(alert, other, at, window_s):
        return False
    if other.scope.kind == "all" and alert.scope.kind != "all":
        return other.rule == alert.rule or shares_evidence(alert, other)
    return other.scope == alert.scope or shares_evidence(alert, other)


def incident_of(alert: Alert, firing: Iterable[Alert], at: datetime, window_s: float,
                overlaps: Overlaps | None = None) -> str | None:  # fmt: skip
    """The incident ``alert`` (firing at ``at``) joins, of those whose lead still fires: that
    of a market-wide alert it belongs with, else of the earliest other; failing those, of the
    earliest recent alert whose window holds largely the same documents (``overlaps``, asked
    one alert at a time until one answers yes). None: it opens one of its own."""
    firing = list(firing)
    leads = {other.id for other in firing}
    open_ = sorted((o for o in firing if (o.incident or o.id) in leads),
                   key=lambda o: (o.scope.kind != "all", o.fired_at or at))  # fmt: skip
    found = next((o for o in open_ if belongs(alert, o, at, window_s)), None)
    if found is None and overlaps is not None:
        found = next((o for o in open_ if o.scope.kind != "all"
                      and _close(alert, o, at, window_s) and overlaps(alert, o)), None)  # fmt: skip
    return None if found is None else found.incident or found.id


def with_member(lead: Alert, member: Alert) -> Alert:
    """The lead as it lists a member of its incident (once)."""
    if member.fired_at is None or any(r.id == member.id for r in lead.related):
        return lead
    related = Related(id=member.id, rule=member.rule, scope=member.scope.name,
                      severity=member.severity, fired_at=member.fired_at)  # fmt: skip
    return lead.model_copy(update={"related": [*lead.related, related]})


def summary(lead: Alert) -> str:
    """One line on the alerts grouped with the lead: ``+2 related: volume spike on
    ticker:ACME, negative spike on topic:Earnings`` (empty with none)."""
    if not lead.related:
        return ""
    counts = Counter((r.rule.replace("_", " "), r.scope) for r in lead.related)
    parts = [f"{rule} on {scope}" + (f" (x{n})" if n > 1 else "") for (rule, scope), n in
             counts.items()]  # fmt: skip
    return f"+{len(lead.related)} related: " + ", ".join(parts)
