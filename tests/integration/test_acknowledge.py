"""An acknowledgement that means something, on the real stack (`alerting serve`, Alertmanager,
Mailpit): an acknowledged alert is not re-notified over several (shortened) re-notify
intervals, and is notified, and e-mailed, again when it escalates."""

from __future__ import annotations

import time
import uuid
from datetime import timedelta
from typing import Any

import httpx
import orjson

from alerting.service import build
from streaming.clients import redis_client
from streaming.es_sink import ElasticsearchSink
from streaming.keys import deliveries_key
from streaming.records import ScoredDoc
from streaming.window_store import Countable
from tests.integration.alertmanager import amtool_json, eventually, mails
from tests.integration.pipeline import Pipeline
from tests.integration.traffic import background, now
from tests.streaming.factories import scored

ANALYST = {"Authorization": "Bearer analyst-key-123"}
OPERATOR = {"Authorization": "Bearer operator-key-456"}
RENOTIFY_S = 10


def _docs(ticker: str, negative: int, neutral: int) -> list[ScoredDoc]:
    at = now() - timedelta(seconds=30)
    return [scored(f"{ticker} story {uuid.uuid4().hex}", label=label, topic="Earnings",
                   tickers=(ticker,), published_at=at)
            for label, n in (("negative", negative), ("neutral", neutral))
            for _ in range(n)]  # fmt: skip


def _deliveries(pipeline: Pipeline, alert_id: str) -> list[str]:
    """The events delivered to Alertmanager for one alert, oldest first."""
    client = redis_client(pipeline.settings.redis)
    raw = client.lrange(deliveries_key(pipeline.run), 0, -1)
    found = [orjson.loads(r) for r in reversed(raw)]
    return [d["event"] for d in found if d["alert_id"] == alert_id and d["notifier"] ==
            "alertmanager" and d["ok"]]  # fmt: skip


def test_an_acknowledged_alert_waits_for_its_escalation_and_is_mailed_then(
    server: tuple[str, Pipeline],
) -> None:
    url, pipeline = server
    change = {"defaults": {"ticker": {"renotify_s": RENOTIFY_S}}, "reason": "test: short"}
    assert httpx.put(f"{url}/api/thresholds", json=change, headers=OPERATOR).status_code == 200
    built = build(pipeline.settings)
    sink = ElasticsearchSink(pipeline.es, index_prefix=pipeline.run)

    def store(docs: list[ScoredDoc]) -> None:
        sink.write(docs)
        pipeline.es.indices.refresh(index=f"{pipeline.run}-docs*")
        built.services.windows.add([Countable.of(d) for d in docs])

    t0 = now()
    store(background(t0 - timedelta(hours=2), t0, per_minute=30))
    store(_docs("WARN", negative=10, neutral=10))  # half negative: a warning

    def warning() -> dict[str, Any] | None:
        resp = httpx.get(f"{url}/api/alerts", params={"rule": "negative_spike",
                         "scope": "ticker:WARN"}, headers=ANALYST)  # fmt: skip
        if resp.status_code == 503:  # the alerts index is new and its shard still starting
            return None
        assert resp.status_code == 200, resp.text
        items = resp.json()["items"]
        return items[0] if items else None

    alert = eventually(warning, 60, "the warning fired and indexed")
    assert alert["severity"] == "warning"
    acked = httpx.post(f"{url}/api/alerts/{alert['id']}/ack", headers=ANALYST).json()
    assert acked["acked_severity"] == "warning"
    eventually(lambda: "acknowledged" in _deliveries(pipeline, alert["id"]), 30, "ack sent")
    silences = amtool_json(pipeline.settings, "silence", "query", f"alert_id={alert['id']}")
    assert [s["status"]["state"] for s in silences] == ["active"]

    time.sleep(2.5 * RENOTIFY_S)  # acknowledged: no re-notification
    assert "sustained" not in _deliveries(pipeline, alert["id"])

    store(_docs("WARN", negative=30, neutral=0))  # 80% negative now: critical
    eventually(lambda: "escalated" in _deliveries(pipeline, alert["id"]), 60, "escalation")
    # Heard in Alertmanager (the acknowledgement's silence is gone) and e-mailed.
    assert amtool_json(pipeline.settings, "silence", "query", f"alert_id={alert['id']}") == []
    [mail] = eventually(lambda: mails(pipeline.settings, alert["id"]), 60, "the e-mail")
    assert "critical" in mail["Text"] and "ticker:WARN" in mail["Text"]
