"""A labelled day through the real pipeline (the shipped model, entity linking) and the
backtest, reported per rule as the acceptance of issue 21 asks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest

from tests.integration.conftest import undertow
from tests.integration.labelled_day import Day, generate
from tests.integration.pipeline import Pipeline, wait_for
from tests.integration.test_pipeline import pipeline  # noqa: F401 (the plain pipeline fixture)

WINDOW = timedelta(minutes=10)


def _detected(fired: list[dict[str, Any]], event: dict[str, str], rule: str) -> float | None:
    """Seconds from the event's onset to the rule's first alert on its scope, or None."""
    onset = datetime.fromisoformat(event["onset"])
    until = datetime.fromisoformat(event["end"]) + WINDOW
    times = [datetime.fromisoformat(f["fired_at"]) for f in fired
             if f["rule"] == rule and f["scope"] == event["scope"]]  # fmt: skip
    hits = sorted(t for t in times if onset <= t <= until)
    return (hits[0] - onset).total_seconds() if hits else None


def _false_ticker_alerts(
    fired: list[dict[str, Any]], day: Day, rule: str, kind: str = "ticker"
) -> list[str]:
    """The rule's alerts on scopes of ``kind`` that no injected event explains (for a topic,
    source or the market: no event at all at that time)."""
    out = []
    for f in fired:
        if f["rule"] != rule or f["scope"].partition(":")[0] != kind:
            continue
        at = datetime.fromisoformat(f["fired_at"])
        explained = any(
            (e["scope"] == f["scope"] or kind != "ticker")
            and datetime.fromisoformat(e["onset"])
            <= at
            <= datetime.fromisoformat(e["end"]) + WINDOW
            for e in day.events
        )
        if not explained:
            out.append(f"{f['scope']} at {f['fired_at']}")
    return out


def test_a_labelled_day_per_rule_recall_false_alerts_and_delay(
    pipeline: Pipeline,  # noqa: F811 (the fixture imported above)
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    end = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=1)
    day = generate(end)
    pipeline.start("score")
    pipeline.start("sink")
    pipeline.produce([(d["id"].encode(), orjson.dumps(d)) for d in day.docs])
    wait_for("the day indexed", lambda: pipeline.es_count() >= len(day.docs), timeout=600)

    # The repost storm: one story with its 80 reposts, under its company's ticker.
    ticker, reposts = day.storm
    found = pipeline.es.search(
        index=f"{pipeline.run}-docs*", size=0,
        query={"match_phrase": {"text": "accused of hiding losses in leaked audit"}},
        aggs={"stories": {"terms": {"field": "story_id"}},
              "tickers": {"terms": {"field": "tickers"}}},
    )["aggregations"]  # fmt: skip
    assert [b["doc_count"] for b in found["stories"]["buckets"]] == [reposts + 1]
    assert [b["key"] for b in found["tickers"]["buckets"]] == [ticker]

    events = tmp_path / "events.json"
    events.write_bytes(orjson.dumps({"events": day.events}))
    done = undertow("--config", str(pipeline.config), "thresholds", "backtest", "--since", "1d",
                    "--events", str(events), "--json", timeout=900)  # fmt: skip
    assert done.returncode == 0, done.stderr
    given = orjson.loads(done.stdout.splitlines()[-1])["configurations"]["given"]
    fired = given["fired"]

    report: dict[str, dict[str, Any]] = {}
    recall: dict[str, dict[str, float]] = {}
    for rule in ("negative_spike", "volume_spike", "sentiment_drop"):
        per_kind: dict[str, list[float | None]] = {}
        for event, kind in zip(day.events, day.kinds, strict=True):
            per_kind.setdefault(kind, []).append(_detected(fired, event, rule))
        recall[rule] = {k: round(sum(d is not None for d in v) / len(v), 2)
                        for k, v in per_kind.items()}  # fmt: skip
        delays = [d for v in per_kind.values() for d in v if d is not None]
        missed = [f"{kind} {e['scope']}" for e, kind in zip(day.events, day.kinds, strict=True)
                  if _detected(fired, e, rule) is None]  # fmt: skip
        report[rule] = {
            "recall": recall[rule],
            "missed": missed,
            "false_ticker_alerts_per_day": len(_false_ticker_alerts(fired, day, rule)),
            "unexplained_other": [
                a
                for kind in ("topic", "source", "all")
                for a in _false_ticker_alerts(fired, day, rule, kind)
            ],
            "max_delay_s": round(max(delays)) if delays else None,
            "alerts": sum(1 for f in fired if f["rule"] == rule),
        }
    line = f"labelled day ({len(day.docs)} documents): {orjson.dumps(report).decode()}"
    print(line)
    request.node.user_properties.append(("figure", line))  # the run's summary shows it

    spike, buzz = recall["negative_spike"], recall["volume_spike"]
    assert spike["strong"] == 1.0, line
    assert spike["moderate"] >= 0.8, line
    assert spike["positive"] == 0.0, line  # good news is not a negative spike
    assert buzz["positive"] == 1.0, line
    for rule in report:
        assert len(_false_ticker_alerts(fired, day, rule)) <= 1, (
            rule, _false_ticker_alerts(fired, day, rule))  # fmt: skip
