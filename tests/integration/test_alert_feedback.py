"""Analysts judge alerts useful or noise, and `undertow thresholds suggest` proposes thresholds
that keep the useful ones and drop the noise, changing nothing until an operator saves them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import httpx
import orjson
from elasticsearch import helpers

from alerting import backtest
from alerting.history import alert_document
from alerting.records import Alert, Scope
from alerting.thresholds import initial_set
from streaming.es_sink import ElasticsearchSink
from streaming.indices import alerts_index
from tests.integration.conftest import undertow
from tests.integration.pipeline import Pipeline
from tests.integration.traffic import background, burst

ANALYST = {"Authorization": "Bearer analyst-key-123"}
OPERATOR = {"Authorization": "Bearer operator-key-456"}
STRONG = ("FBSTA", "FBSTB", "FBSTC")  # a desk wants these
WEAK = ("FBWKA", "FBWKB", "FBWKC")  # a dozen negative posts: the desk calls them noise


def _history(pipeline: Pipeline, t0: datetime) -> None:
    docs = background(t0 - timedelta(hours=6), t0, per_minute=10)
    for i, ticker in enumerate(STRONG):
        docs += burst(t0 - timedelta(minutes=260 - 80 * i), 6, 15, topic="Earnings", ticker=ticker)
    for i, ticker in enumerate(WEAK):
        docs += burst(t0 - timedelta(minutes=220 - 80 * i), 6, 2, topic="Markets", ticker=ticker)
    ElasticsearchSink(pipeline.es, index_prefix=pipeline.run).write(docs)
    pipeline.es.indices.refresh(index=f"{pipeline.run}-docs*")


def _fired(pipeline: Pipeline, t0: datetime) -> list[Alert]:
    """What the current thresholds fired on that history, as the alert history holds alerts."""
    report = backtest.run(pipeline.es, f"{pipeline.run}-docs*", initial_set(),
                          since=timedelta(hours=5), bucket_s=60, tick_s=5.0,
                          configs={"current": []}, now=t0)  # fmt: skip
    alerts = []
    for f in report.configurations["current"].fired:
        if f.rule != "negative_spike" or not f.scope.startswith("ticker:FB"):
            continue
        alerts.append(Alert.model_validate({
            "id": uuid.uuid4().hex[:16], "rule": f.rule, "scope": Scope.parse(f.scope),
            "severity": f.severity, "state": "resolved", "started_at": f.fired_at,
            "fired_at": f.fired_at, "resolved_at": f.resolved_at or f.fired_at,
            "updated_at": f.fired_at, "current": {}, "baseline": {},
            "thresholds_version": 1,
        }))  # fmt: skip
    index = alerts_index(pipeline.run)
    helpers.bulk(pipeline.es, ({"_index": index, "_id": a.id, "_source": alert_document(a)}
                               for a in alerts))  # fmt: skip
    pipeline.es.indices.refresh(index=index)
    return alerts


def test_verdicts_make_a_suggestion_that_keeps_useful_alerts_and_drops_noise(
    server: tuple[str, Pipeline],
) -> None:
    url, pipeline = server
    t0 = datetime.now(UTC)
    _history(pipeline, t0)
    alerts = _fired(pipeline, t0)
    on = {a.scope.value for a in alerts}
    assert set(STRONG) | set(WEAK) <= on, on  # today's thresholds fire on every burst
    for a in alerts:
        verdict = "useful" if a.scope.value in STRONG else "noise"
        judged = httpx.post(f"{url}/api/alerts/{a.id}/feedback", headers=ANALYST,
                            json={"verdict": verdict, "note": "desk call"}, timeout=10)  # fmt: skip
        assert judged.status_code == 200, judged.text
        assert judged.json()["feedback"]["verdict"] == verdict
    noise = httpx.get(f"{url}/api/alerts", headers=ANALYST, timeout=10,
                      params={"feedback": "noise", "limit": 100}).json()  # fmt: skip
    assert {a["scope"]["value"] for a in noise["items"]} == set(WEAK)
    bad = httpx.post(f"{url}/api/alerts/{alerts[0].id}/feedback", headers=ANALYST,
                     json={"verdict": "meh"}, timeout=10)  # fmt: skip
    assert bad.status_code == 422
    missing = httpx.post(f"{url}/api/alerts/nope/feedback", headers=ANALYST,
                         json={"verdict": "noise"}, timeout=10)  # fmt: skip
    assert missing.status_code == 404
    before = httpx.get(f"{url}/api/thresholds", headers=OPERATOR, timeout=10).json()["version"]

    done = undertow("--config", str(pipeline.config), "thresholds", "suggest", "--since", "5h",
                    "--json", timeout=600)  # fmt: skip
    assert done.returncode == 0, done.stderr
    report = orjson.loads(done.stdout.strip().splitlines()[-1])
    useful = sum(a.scope.value in STRONG for a in alerts)
    assert report["judged"] == {"useful": useful, "noise": len(alerts) - useful}
    assert report["current"]["useful_kept"] == useful
    assert report["current"]["noise_kept"] == len(alerts) - useful
    best = report["suggestion"]
    assert best is not None, report.get("why")
    assert best["useful_kept"] == useful and best["noise_kept"] == 0
    assert report["apply"].startswith("undertow thresholds set negative_spike.")
    # Nothing changed until an operator saves it.
    after = httpx.get(f"{url}/api/thresholds", headers=OPERATOR, timeout=10).json()["version"]
    assert after == before
