"""Alerting on the real stack: the evaluator fires on a burst and on nothing else, the API's
keys and roles, thresholds changed live, the live feed, and the backtest."""

from __future__ import annotations

import re
import time
from contextlib import ExitStack
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from kafka import KafkaConsumer

from alerting.service import Alerting, build
from streaming.clients import kafka_python_kwargs
from streaming.es_sink import ElasticsearchSink
from streaming.indices import alerts_index
from streaming.records import ScoredDoc
from streaming.window_store import Countable
from tests.integration.conftest import undertow
from tests.integration.pipeline import Pipeline, wait_for
from tests.integration.traffic import background, burst, now

ANALYST = {"Authorization": "Bearer analyst-key-123"}
OPERATOR = {"Authorization": "Bearer operator-key-456"}


@pytest.fixture
def pipeline(alerting_pipeline: Pipeline) -> Pipeline:
    """An isolated pipeline with API keys and a 1 s evaluation tick (see conftest)."""
    return alerting_pipeline


def store(built: Alerting, docs: list[ScoredDoc], pipeline: Pipeline) -> None:
    """What the sink worker does with these documents: index them, then count them."""
    sink = ElasticsearchSink(pipeline.es, index_prefix=pipeline.settings.elasticsearch.index_prefix)
    sink.write(docs)
    pipeline.es.indices.refresh(index=f"{pipeline.run}-docs*")
    built.services.windows.add([Countable.of(d) for d in docs])


def test_a_burst_fires_for_its_topic_and_ticker_only_with_evidence(pipeline: Pipeline) -> None:
    built = build(pipeline.settings)
    t0 = now()
    store(built, background(t0 - timedelta(hours=2), t0, per_minute=30), pipeline)
    store(
        built,
        burst(t0 - timedelta(minutes=4), 4, 10, topic="Energy | Oil", ticker="ACME"),
        pipeline,
    )
    pipeline.es.indices.refresh(index=f"{pipeline.run}-docs*")
    events = built.evaluator.tick() + built.evaluator.tick()  # the pending period is 2 ticks
    assert {e for _, e in events} == {"fired"}
    fired = {(a.rule, a.scope.name) for a, _ in events}
    # Its ticker and its topic and nothing else, each by the negative rule (and by whichever
    # other rule sees a burst this steep: its volume, its tone).
    assert {scope for _, scope in fired} == {"topic:Energy | Oil", "ticker:ACME"}, fired
    assert {("negative_spike", "topic:Energy | Oil"), ("negative_spike", "ticker:ACME")} <= fired
    for alert, _ in events:
        assert alert.state == "firing" and alert.severity in ("warning", "critical")
        assert alert.current["negative_share"] > 0.4
        assert len(alert.examples) == 5 and all(ex.score < 0 for ex in alert.examples)
        assert alert.model_version == "test-1" and alert.thresholds_version == 1
        assert alert.kibana_url and "app/discover" in alert.kibana_url
    # One burst, one incident: the first alert opened it, the others joined it (one page).
    assert len({a.incident for a, _ in events}) == 1
    lead = built.services.alerts.get(str(events[0][0].incident))
    assert lead is not None
    assert {r.id for r in lead.related} == {a.id for a, _ in events} - {lead.id}
    assert built.evaluator.tick() == []  # firing, not announced again
    consumer = KafkaConsumer(
        pipeline.settings.kafka.topics.alerts,
        **kafka_python_kwargs(pipeline.settings.kafka),
        auto_offset_reset="earliest",
        consumer_timeout_ms=3000,
    )
    published = [orjson.loads(m.value) for m in consumer]
    consumer.close()
    fired_out = [p for p in published if p["event"] == "fired"]
    assert sorted((p["alert"]["rule"], p["alert"]["scope"]["value"]) for p in fired_out) == sorted(
        (a.rule, a.scope.value) for a, _ in events)  # fmt: skip
    # The lead's list, each time an alert joined its incident: notices, for the page and index.
    grouped = [p["alert"]["id"] for p in published if p["event"] == "grouped"]
    assert set(grouped) == {lead.id} and len(grouped) == len(events) - 1
    index = alerts_index(pipeline.settings.elasticsearch.index_prefix)
    pipeline.es.indices.refresh(index=index)
    assert pipeline.es.count(index=index)["count"] == len(events)


def test_a_quiet_stream_fires_nothing(pipeline: Pipeline) -> None:
    built = build(pipeline.settings)
    t0 = now()
    store(built, background(t0 - timedelta(hours=2), t0, per_minute=30, seed=7), pipeline)
    assert [built.evaluator.tick() for _ in range(3)] == [[], [], []]
    assert built.services.alerts.recent() == []


def test_a_restarted_evaluator_neither_loses_nor_repeats_an_alert(pipeline: Pipeline) -> None:
    first = build(pipeline.settings)
    t0 = now()
    store(first, background(t0 - timedelta(hours=2), t0, per_minute=30), pipeline)
    store(first, burst(t0 - timedelta(minutes=3), 3, 15, topic="Macro", ticker="ZZZ"), pipeline)
    assert first.evaluator.tick() == []  # pending
    second = build(pipeline.settings)  # a new process would build exactly this
    events = second.evaluator.tick()
    assert {(a.scope.name, e) for a, e in events} == {
        ("topic:Macro", "fired"),
        ("ticker:ZZZ", "fired"),
    }
    assert build(pipeline.settings).evaluator.tick() == []


def test_keys_roles_and_bad_requests(server: tuple[str, Pipeline]) -> None:
    url, _ = server
    assert httpx.get(f"{url}/api/alerts").status_code == 401
    assert (
        httpx.get(f"{url}/api/alerts", headers={"Authorization": "Bearer nope-nope"}).status_code
        == 401
    )
    assert httpx.get(f"{url}/api/alerts", headers=ANALYST).json()["items"] == []
    change = {"defaults": {"ticker": {"ratio": 3}}, "reason": "fewer ticker alerts"}
    assert httpx.put(f"{url}/api/thresholds", json=change, headers=ANALYST).status_code == 403
    assert httpx.put(f"{url}/api/thresholds", json=change).status_code == 401
    bad = httpx.put(
        f"{url}/api/thresholds",
        json={"defaults": {"ticker": {"ratio": "x"}}, "reason": "r"},
        headers=OPERATOR,
    )
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == [
        "body",
        "defaults",
        "ticker",
        "ratio",
    ]
    no_reason = httpx.put(f"{url}/api/thresholds", json={"defaults": {}}, headers=OPERATOR)
    assert no_reason.status_code == 422 and "reason" in no_reason.text
    for query in ("scope=sector:x", "window=forever", "state=open", "limit=0", "since=tomorrow"):
        path = "/api/trends" if query.split("=")[0] in ("scope", "window") else "/api/alerts"
        assert httpx.get(f"{url}{path}?{query}", headers=ANALYST).status_code == 422, query
    assert httpx.get(f"{url}/api/alerts/nope", headers=ANALYST).status_code == 404
    assert (
        httpx.post(f"{url}/api/backtest", json={"since": "1d"}, headers=ANALYST).status_code == 403
    )
    assert httpx.get(f"{url}/docs").status_code == 200
    assert "undertow_api_requests" in httpx.get(f"{url}/metrics").text
    # The evaluator's figures: scopes by kind and the tick time, once it has ticked.
    ticked = 'undertow_alerting_scopes{kind="all"} 1.0'
    wait_for("the evaluator's metrics", lambda: ticked in httpx.get(f"{url}/metrics").text)
    # A histogram shows its count from the start: the ticks must really have been timed.
    timed = re.search(r"^undertow_alerting_tick_seconds_count (\S+)$",
                      httpx.get(f"{url}/metrics").text, re.MULTILINE)  # fmt: skip
    assert timed is not None and float(timed.group(1)) >= 1


def test_a_threshold_change_takes_effect_live_and_is_in_the_history(
    server: tuple[str, Pipeline],
) -> None:
    url, pipeline = server
    built = build(pipeline.settings)
    raise_bar = {
        "defaults": {"ticker": {"min_docs": 100000}, "topic": {"min_docs": 100000}},
        "reason": "test: mute",
    }
    changed = httpx.put(f"{url}/api/thresholds", json=raise_bar, headers=OPERATOR)
    assert changed.status_code == 200 and changed.json()["version"] == 2
    t0 = now()
    store(built, background(t0 - timedelta(hours=2), t0, per_minute=30), pipeline)
    store(built, burst(t0 - timedelta(minutes=3), 3, 15, topic="Earnings", ticker="QQQQ"), pipeline)
    time.sleep(3)  # several ticks at 1 s

    # Muted: the negative rule (the one the change is for) fires nothing; the others may.
    def negative(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [a for a in items if a["rule"] == "negative_spike"]

    assert negative(httpx.get(f"{url}/api/alerts", headers=ANALYST).json()["items"]) == []
    with httpx.stream("GET", f"{url}/api/alerts/stream", headers=ANALYST, timeout=30) as live:
        lower = {
            "defaults": {"ticker": {"min_docs": 10}, "topic": {"min_docs": 10}},
            "reason": "test: back",
        }
        assert (
            httpx.put(f"{url}/api/thresholds", json=lower, headers=OPERATOR).json()["version"] == 3
        )
        seen: set[str] = set()
        deadline = time.monotonic() + 20
        for line in live.iter_lines():
            if line.startswith("data: "):
                event = orjson.loads(line[6:])
                if event["alert"]["rule"] == "negative_spike":
                    seen.add(event["alert"]["scope"]["value"])
            if seen >= {"QQQQ", "Earnings"} or time.monotonic() > deadline:
                break
    assert seen >= {"QQQQ", "Earnings"}

    # The history (the alerts index) has them once the notification worker indexed them.
    def firing() -> list[dict[str, Any]]:
        page = httpx.get(f"{url}/api/alerts?state=firing", headers=ANALYST).json()
        return negative(page["items"])

    wait_for("the alerts indexed", lambda: len(firing()) == 2, timeout=30)
    listed = firing()
    assert {a["scope"]["value"] for a in listed} == {"QQQQ", "Earnings"}
    assert all(a["examples"] and a["thresholds_version"] == 3 for a in listed)
    history = httpx.get(f"{url}/api/thresholds/history", headers=ANALYST).json()["items"]
    assert [h["reason"] for h in history] == ["test: back", "test: mute"]
    acked = httpx.post(f"{url}/api/alerts/{listed[0]['id']}/ack", headers=ANALYST).json()
    assert acked["acked_by"].startswith("analyst:")


def test_backtest_finds_the_injected_spikes_and_a_sweep_shows_the_trade_off(
    pipeline: Pipeline, tmp_path: Path
) -> None:
    t0 = now().replace(second=0, microsecond=0)
    day = background(t0 - timedelta(hours=26), t0, per_minute=25, seed=3)
    spikes = [
        (t0 - timedelta(hours=15), "Macro", "BBB"),
        (t0 - timedelta(hours=5), "Earnings", "CCC"),
    ]
    for onset, topic, ticker in spikes:
        day += burst(onset, 15, 5, topic=topic, ticker=ticker)
    sink = ElasticsearchSink(pipeline.es, index_prefix=pipeline.run)
    for i in range(0, len(day), 2000):
        sink.write(day[i : i + 2000])
    pipeline.es.indices.refresh(index=f"{pipeline.run}-docs*")
    events = {
        "events": [
            {
                "scope": scope,
                "onset": onset.isoformat(),
                "end": (onset + timedelta(minutes=15)).isoformat(),
            }
            for onset, topic, ticker in spikes
            for scope in (f"topic:{topic}", f"ticker:{ticker}")
        ]
    }
    events_file = tmp_path / "events.json"
    events_file.write_bytes(orjson.dumps(events))
    done = undertow(
        "--config",
        str(pipeline.config),
        "thresholds",
        "backtest",
        "--since",
        "1d",
        "--events",
        str(events_file),
        "--sweep",
        "negative_spike.ratio=1.5,2,4",
        "--json",
    )
    assert done.returncode == 0, done.stderr
    report = orjson.loads(done.stdout.splitlines()[-1])["configurations"]
    given = report["given"]
    assert given["recall"] == 1.0
    assert given["false_alerts_per_day"] <= 1.0, given["fired"]
    assert given["detection_delay_s"]["max"] <= 600
    per_day = [report[f"negative_spike.ratio={r}"]["by_rule"]["negative_spike"]["alerts_per_day"]
               for r in ("1.5", "2", "4")]  # fmt: skip
    print(
        f"backtest: recall {given['recall']}, precision {given['precision']}, false/day "
        f"{given['false_alerts_per_day']}, delay {given['detection_delay_s']}; sweep ratio "
        f"1.5/2/4 → alerts/day {per_day}"
    )
    assert per_day == sorted(per_day, reverse=True)


def test_no_input_gets_a_5xx(server: tuple[str, Pipeline]) -> None:
    url, _ = server
    gets = [
        "/api/alerts?since=%00",
        "/api/alerts?limit=abc",
        "/api/alerts?offset=-1",
        "/api/alerts?scope=ticker:%F0%9F%92%A5",
        "/api/alerts?since=99999999999d",
        "/api/trends?window=99999999999d",
        "/api/trends?window=400d",
        "/api/trends?scope=%00",
        "/api/alerts/%2e%2e%2f",
        "/api/thresholds/history?limit=-5",
    ]
    for path in gets:
        status = httpx.get(f"{url}{path}", headers=ANALYST).status_code
        assert status < 500, (path, status)
    bodies: list[object] = [
        [],
        "text",
        None,
        {"defaults": []},
        {"defaults": {"all": []}, "reason": "r"},
        {"defaults": {"all": {"window_s": 1e309}}, "reason": "r"},
        {"overrides": {"ticker:X": {"share": -1}}, "reason": "r"},
        {"reason": "x" * 5000},
        {"unknown": 1, "reason": "r"},
    ]
    for body in bodies:
        put = httpx.put(f"{url}/api/thresholds", content=orjson.dumps(body), headers=OPERATOR)
        assert 400 <= put.status_code < 500, (body, put.status_code, put.text)
    for body in [
        {"since": "400d"},
        {"since": "0s"},
        {"sweep": {"ratio": [0.5]}},
        {"set": ["nonsense"]},
        {"events": [{"scope": "x"}]},
        {"defaults": {"ticker": {"z": "high"}}},
    ]:
        post = httpx.post(f"{url}/api/backtest", json=body, headers=OPERATOR)
        assert 400 <= post.status_code < 500, (body, post.status_code, post.text)
    assert httpx.get(f"{url}/api/thresholds", headers=ANALYST).json()["version"] == 1


def test_live_streams_are_capped_per_key_and_a_closed_one_frees_its_slot(
    server: tuple[str, Pipeline],
) -> None:
    url, _ = server

    def open_stream(streams: ExitStack, key: dict[str, str]) -> httpx.Response:
        return streams.enter_context(client.stream("GET", "/api/alerts/stream", headers=key))

    with httpx.Client(base_url=url, timeout=10) as client:
        with ExitStack() as streams:
            opened = [open_stream(streams, ANALYST) for _ in range(4)]  # max_streams_per_key
            assert [r.status_code for r in opened] == [200] * 4
            over = client.get("/api/alerts/stream", headers=ANALYST)
            assert over.status_code == 429 and "live streams" in over.text
            assert open_stream(streams, OPERATOR).status_code == 200  # a key of its own

        def a_slot_is_free() -> bool:
            with client.stream("GET", "/api/alerts/stream", headers=ANALYST) as again:
                return again.status_code == 200

        wait_for("a closed stream's slot", a_slot_is_free, timeout=30)
