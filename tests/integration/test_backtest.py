"""The backtest and the live evaluator are one engine: the same scored documents, replayed
through Elasticsearch's aggregations by the backtest and counted into windows for the live
evaluator ticking on a simulated clock, give the same alerts."""

from __future__ import annotations

from datetime import timedelta

from alerting import backtest
from alerting.alert_store import MemoryAlertStore
from alerting.evaluator import Evaluator
from alerting.notifiers import MemoryDispatcher
from alerting.threshold_store import MemoryThresholdStore
from alerting.thresholds import initial_set
from streaming.es_sink import ElasticsearchSink
from streaming.window_store import Countable, MemoryWindowStore
from tests.integration.pipeline import Pipeline
from tests.integration.traffic import background, burst, now

TICK_S = 5.0
BUCKET_S = 60


def test_backtest_and_live_evaluator_fire_the_same_alerts(alerting_pipeline: Pipeline) -> None:
    pipeline = alerting_pipeline
    until = now().replace(second=0, microsecond=0) - timedelta(seconds=7)
    since = timedelta(minutes=90)
    docs = background(until - timedelta(hours=4), until, per_minute=20, seed=11)
    docs += burst(until - timedelta(minutes=75), 6, 12, topic="Macro", ticker="EQA")  # critical
    docs += burst(until - timedelta(minutes=30), 8, 4, topic="Earnings", ticker="EQB")
    ElasticsearchSink(pipeline.es, index_prefix=pipeline.run).write(docs)
    pipeline.es.indices.refresh(index=f"{pipeline.run}-docs*")
    tset = initial_set()

    report = backtest.run(
        pipeline.es, f"{pipeline.run}-docs*", tset, since=since, bucket_s=BUCKET_S,
        tick_s=TICK_S, configs={"given": []}, now=until,
    )  # fmt: skip
    from_backtest = report.configurations["given"].fired

    windows = MemoryWindowStore(bucket_s=BUCKET_S)
    windows.add([Countable.of(d) for d in docs])
    clock = backtest.SimulatedClock((until - since).timestamp())
    dispatcher = MemoryDispatcher()
    live = Evaluator(
        windows, MemoryThresholdStore(tset), MemoryAlertStore(), dispatcher, None,
        bucket_s=BUCKET_S, clock=clock,
    )  # fmt: skip
    while clock.now < until.timestamp():
        live.tick()
        clock.now += TICK_S
    from_live = [(a.rule, a.scope.name, a.severity, a.fired_at) for a, e in dispatcher.events
                 if e == "fired"]  # fmt: skip

    assert {(r, s) for r, s, _, _ in from_live} >= {("negative_spike", "ticker:EQA"),
                                                    ("negative_spike", "ticker:EQB")}  # fmt: skip
    print(f"live fired {len(from_live)}:", [(s, f.isoformat()) for _, s, _, f in from_live if f])
    assert len(from_backtest) == len(from_live), (from_backtest, from_live)
    for bt, (rule, scope, severity, fired_at) in zip(from_backtest, from_live, strict=True):
        assert (bt.rule, bt.scope, bt.severity) == (rule, scope, severity)
        assert fired_at is not None
        delta = abs(bt.fired_at - fired_at)
        assert delta <= timedelta(seconds=TICK_S), (bt, fired_at)
