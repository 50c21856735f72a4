"""The analyst's alert desk through the real API: the alert history in Elasticsearch (filters,
free text, pages past Elasticsearch's 10,000 without a cap), acknowledgements and notes written
to it, the live feed resumed after a reconnect, and silences in the real Alertmanager."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson
from elasticsearch import helpers

from alerting.alert_store import RedisAlertStore, ScopeChange
from alerting.history import alert_document
from alerting.lifecycle import ScopeState
from alerting.records import Alert, Example, Scope
from alerting.service import build
from streaming import keys
from streaming.clients import redis_client
from streaming.indices import alerts_index
from tests.integration.alertmanager import amtool, eventually
from tests.integration.conftest import undertow
from tests.integration.pipeline import Pipeline, wait_for

ANALYST = {"Authorization": "Bearer analyst-key-123"}
RULES = ("negative_spike", "volume_spike", "sentiment_drop")
SCOPES = ("ticker:ACME", "topic:Earnings", "source:news", "all")


def _alert(i: int, start: datetime, **changes: Any) -> Alert:
    alert = Alert(
        id=f"h{i:06d}",
        rule=RULES[i % 3],
        scope=Scope.parse(SCOPES[i % 4]),
        severity="critical" if i % 5 == 0 else "warning",
        state="resolved" if i % 2 else "firing",
        started_at=start - timedelta(minutes=i),
        fired_at=start - timedelta(minutes=i),
        updated_at=start,
        current={"total": 40.0},
        baseline={"total": 400.0},
        verdict={"reason": f"alert number {i}"},
        thresholds_version=1,
        examples=[
            Example(
                id=f"d{i}",
                text=f"headline {i} about zinc" if i % 7 == 0 else f"headline {i}",
                published_at=start,
                score=-0.5,
            )
        ],
    )
    return alert.model_copy(update=changes)


def _page(url: str, **params: Any) -> dict[str, Any]:
    resp = httpx.get(f"{url}/api/alerts", params=params, headers=ANALYST, timeout=30)
    assert resp.status_code == 200, resp.text
    page: dict[str, Any] = resp.json()
    return page


def test_the_history_filters_and_pages_past_ten_thousand_alerts(
    server: tuple[str, Pipeline],
) -> None:
    url, pipeline = server
    index = alerts_index(pipeline.run)
    start = datetime.now(UTC)
    count = 10_050
    actions = ({"_index": index, "_id": a.id, "_source": alert_document(a)}
               for a in (_alert(i, start) for i in range(count)))  # fmt: skip
    helpers.bulk(pipeline.es, actions, chunk_size=2000)
    pipeline.es.indices.refresh(index=index)

    first = _page(url, limit=100)
    assert first["total"] == count and len(first["items"]) == 100
    assert [a["id"] for a in first["items"][:2]] == ["h000000", "h000001"]  # newest first
    assert httpx.get(f"{url}/api/alerts", params={"offset": 9950, "limit": 100},
                     headers=ANALYST).status_code == 422  # past 10,000: by cursor  # fmt: skip
    seen, cursor = 0, None
    while True:
        page = _page(url, limit=500, **({"cursor": cursor} if cursor else {}))
        seen += len(page["items"])
        cursor = page["next"]
        if cursor is None:
            break
    assert seen == count

    # Filters combine; free text reaches the evidence.
    critical_resolved = _page(url, severity="critical", state="resolved", limit=1)["total"]
    assert critical_resolved == sum(1 for i in range(count) if i % 5 == 0 and i % 2)
    topic = _page(url, rule="volume_spike", scope_kind="topic", limit=1)["total"]
    assert topic == sum(1 for i in range(count) if i % 3 == 1 and i % 4 == 1)
    zinc = _page(url, q="zinc", scope="ticker:ACME", limit=500)
    assert zinc["total"] == sum(1 for i in range(count) if i % 7 == 0 and i % 4 == 0)
    assert _page(url, scope="all", limit=1)["total"] == count // 4 + (count % 4 > 3)
    assert httpx.get(f"{url}/api/alerts", params={"cursor": "not-ours"},
                     headers=ANALYST).status_code == 422  # fmt: skip


def _stored(pipeline: Pipeline, alert: Alert) -> RedisAlertStore:
    store = RedisAlertStore(redis_client(pipeline.settings.redis), pipeline.run)
    state = ScopeState(alert_id=alert.id, phase="firing", streak=2, severity=alert.severity)
    store.commit(ScopeChange(f"{alert.rule}/{alert.scope.name}", state, alert, event="fired"))
    return store


def _events(resp: httpx.Response, until: str) -> list[tuple[str, dict[str, Any]]]:
    """(id, event) pairs of the stream until one whose alert's last activity is ``until``."""
    out: list[tuple[str, dict[str, Any]]] = []
    event_id = ""
    for line in resp.iter_lines():
        if line.startswith("id: "):
            event_id = line[4:]
        elif line.startswith("data: "):
            event = orjson.loads(line[6:])
            out.append((event_id, event))
            if event["event"] == until:
                return out
    return out


def test_acks_and_notes_reach_the_history_and_the_feed_resumes_after_a_reconnect(
    server: tuple[str, Pipeline],
) -> None:
    url, pipeline = server
    alert = _alert(1, datetime.now(UTC), id=uuid.uuid4().hex[:16], state="firing")
    with httpx.Client(base_url=url, headers=ANALYST, timeout=30) as client:
        with client.stream("GET", "/api/alerts/stream") as live:
            _stored(pipeline, alert)
            [(fired_id, fired)] = _events(live, until="fired")
        assert fired["alert"]["id"] == alert.id and fired_id
        # While no page listens, an analyst acknowledges and adds a note.
        assert client.post(f"/api/alerts/{alert.id}/ack").json()["acked_by"].startswith("analyst:")
        noted = client.post(f"/api/alerts/{alert.id}/notes", json={"text": "call the desk"})
        assert [e["action"] for e in noted.json()["activity"]] == ["acknowledged", "note"]
        # The page comes back with the last id it saw and gets what it missed, in order.
        with client.stream("GET", "/api/alerts/stream",
                           headers={"Last-Event-ID": fired_id}) as again:  # fmt: skip
            missed = _events(again, until="noted")
        assert [e["event"] for _, e in missed] == ["acknowledged", "noted"]
        assert all(i > fired_id for i, _ in missed)

        def indexed() -> bool:
            page = client.get("/api/alerts", params={"q": "call the desk"}).json()
            return [a["id"] for a in page["items"]] == [alert.id]

        wait_for("the note in the history", indexed, timeout=30)
        acked = client.get("/api/alerts", params={"acknowledged": "true"}).json()["items"]
        assert [a["id"] for a in acked] == [alert.id]
        assert client.delete(f"/api/alerts/{alert.id}/ack").json()["acked_by"] is None
        assert client.post(f"/api/alerts/{alert.id}/notes", json={"text": ""}).status_code == 422
        assert client.post("/api/alerts/nope/ack").status_code == 404


def test_a_scope_is_silenced_listed_seen_by_amtool_and_expired(
    server: tuple[str, Pipeline],
) -> None:
    url, pipeline = server
    # An ACME alert firing in Alertmanager, as the notification worker sends it.
    notifier = build(pipeline.settings).alertmanager
    assert notifier is not None
    acme = _alert(0, datetime.now(UTC), id=uuid.uuid4().hex[:16], scope=Scope.parse("ticker:ACME"))
    notifier.notify(acme, "fired")

    def state() -> str | None:
        held = notifier.client.alerts({"namespace": pipeline.run, "alert_id": acme.id})
        return held[0]["status"]["state"] if held else None

    with httpx.Client(base_url=url, headers=ANALYST, timeout=30) as client:
        assert eventually(state, 30, "the alert in Alertmanager") == "active"
        body = {"scope": "ticker:ACME", "duration": "4h", "reason": "earnings day"}
        created = client.post("/api/silences", json=body)
        assert created.status_code == 201, created.text
        silence = created.json()
        assert silence["status"]["state"] == "active"
        assert silence["createdBy"].startswith("analyst:")
        ends = datetime.fromisoformat(silence["endsAt"]) - datetime.now(UTC)
        assert timedelta(hours=3, minutes=59) < ends <= timedelta(hours=4)
        listed = client.get("/api/silences").json()["items"]
        assert silence["id"] in [s["id"] for s in listed]
        assert silence["id"] in amtool(pipeline.settings, "silence", "query",
                                       f"namespace={pipeline.run}")  # fmt: skip
        # The silence stops the notifications of ACME's alert...
        eventually(lambda: state() == "suppressed", 30, "the alert silenced")
        expired = client.delete(f"/api/silences/{silence['id']}").json()
        assert expired["status"]["state"] == "expired"
        assert silence["id"] not in [s["id"] for s in client.get("/api/silences").json()["items"]]
        eventually(lambda: state() == "active", 30, "...until it is expired")
        for bad in ({"scope": "sector:x", "reason": "r"}, {"scope": "ticker:A", "reason": ""},
                    {"scope": "ticker:A", "reason": "r", "duration": "90d"}):  # fmt: skip
            assert client.post("/api/silences", json=bad).status_code == 422, bad


def test_the_command_line_lists_acknowledges_and_silences(server: tuple[str, Pipeline]) -> None:
    _, pipeline = server
    alert = _alert(3, datetime.now(UTC), id=uuid.uuid4().hex[:16], state="firing")
    _stored(pipeline, alert)
    config = ("--config", str(pipeline.config))

    def cli(*args: str) -> dict[str, Any]:
        done = undertow(*config, "alerts", *args, "--json")
        assert done.returncode == 0, done.stderr
        result: dict[str, Any] = orjson.loads(done.stdout.splitlines()[-1])
        return result

    assert cli("ack", alert.id)["acked_by"].startswith("cli:")
    assert cli("note", alert.id, "looked at it")["activity"][-1]["text"] == "looked at it"
    wait_for("the alert in the history",
             lambda: [a["id"] for a in cli("list", "--rule", alert.rule)["items"]] == [alert.id],
             timeout=30)  # fmt: skip
    silenced = cli("silence", "--scope", "ticker:ACME", "--for", "4h", "--reason", "earnings")
    assert silenced["id"] in amtool(pipeline.settings, "silence", "query", "scope=ticker:ACME")
    assert [s["id"] for s in cli("silences")["items"]] == [silenced["id"]]
    assert undertow(*config, "alerts", "unsilence", silenced["id"]).returncode == 0
    assert cli("silences")["items"] == []
    missing = undertow(*config, "alerts", "show", "no-such-alert")
    assert missing.returncode == 1 and "no alert" in missing.stderr


def test_a_page_back_after_the_feed_was_trimmed_is_told_to_reload(
    server: tuple[str, Pipeline],
) -> None:
    url, pipeline = server
    client = redis_client(pipeline.settings.redis)
    feed = keys.alert_feed_key(pipeline.run)
    ids = [str(client.xadd(feed, {"data": orjson.dumps({"event": "noted", "n": n})}, maxlen=3,
                           approximate=False)) for n in range(5)]  # fmt: skip

    def first_lines(last_seen: str) -> list[str]:
        headers = ANALYST | {"Last-Event-ID": last_seen}
        with httpx.stream("GET", f"{url}/api/alerts/stream", headers=headers, timeout=30) as resp:
            lines: list[str] = []
            for line in resp.iter_lines():
                lines.append(line)
                if line.startswith("data: ") or len(lines) > 6:
                    return lines
        return lines

    # The events after ids[0] were partly trimmed (ids[1] is gone): reload.
    assert "event: reset" in first_lines(ids[0])
    # After ids[2], everything is still there: the page gets ids[3] next.
    resumed = first_lines(ids[2])
    assert f"id: {ids[3]}" in resumed and "event: reset" not in resumed
