"""`undertow bench --evaluator`: how long one evaluator tick takes over N live scopes.

The windows are the real Redis window store of the local stack, under a bench-only key prefix
removed afterwards. It is filled with 2 h 20 min of history in which every scope has documents
in every 10 minutes, the current window too (the worst case for skipping idle scopes): tickers
with Zipf-distributed extra activity, a few topics and sources, and negative bursts planted on
some tickers. The evaluator
then ticks on a clock that moves ``tick_s`` per tick (crossing bucket boundaries) while new
documents keep arriving between ticks; the report gives the cold first tick, the warm ones, and
the alerts that fired.
"""

from __future__ import annotations

import random
import time
import uuid
from collections import Counter
from collections.abc import Callable
from typing import Any

import numpy as np

from alerting.alert_store import RedisAlertStore
from alerting.evaluator import Evaluator, TickReport
from alerting.notifiers import MemoryDispatcher
from alerting.threshold_store import MemoryThresholdStore
from streaming import keys
from streaming.clients import delete_prefixed, redis_client
from streaming.window_store import LATE_OVERLAP_S, Countable, RedisWindowStore
from undertow.settings import Settings

Progress = Callable[[str], None]
TOPICS = 20
SOURCES = 5
HISTORY_S = 8400  # the default 2 h baseline, the 10 min window and 20 min to spare
BURSTS = 3  # tickers given a strong negative burst in the current window
LABELS = ("negative", "neutral", "positive")


def _scope_values(scopes: int) -> tuple[list[str], list[str], list[str]]:
    tickers = max(1, scopes - TOPICS - SOURCES - 1)
    return (
        [f"T{i:05d}" for i in range(tickers)],
        [f"Topic {i}" for i in range(TOPICS)],
        [f"src{i}" for i in range(SOURCES)],
    )


def _docs(scopes: int, now: float, rng: random.Random) -> tuple[list[Countable], list[str]]:
    """The history: every ticker in every 10 min, a Zipf share of more volume, bursts."""
    tickers, topics, sources = _scope_values(scopes)
    weights = 1.0 / np.arange(1, len(tickers) + 1)
    n = 20_000
    picks = rng.choices(range(len(tickers)), weights=weights.tolist(), k=n)
    docs: list[Countable] = []

    def doc(ticker: str, at: float, label: str) -> Countable:
        score = {"negative": -0.8, "neutral": 0.0, "positive": 0.8}[label]
        scope = (keys.scope_name("all"), keys.scope_name("topic", rng.choice(topics)),
                 keys.scope_name("source", rng.choice(sources)),
                 keys.scope_name("ticker", ticker))  # fmt: skip
        ident = uuid.uuid4().hex
        return Countable(ident, ident, label, score, at, scope)

    calm = (0.2, 0.5, 0.3)
    for i in picks:
        docs.append(doc(tickers[i], now - rng.uniform(0, HISTORY_S), rng.choices(LABELS, calm)[0]))
    for ticker in tickers:  # every scope is live in every 10 min, the current window too
        for slot in range(HISTORY_S // 600):
            at = now - slot * 600 - rng.uniform(0, 540)
            docs.append(doc(ticker, at, rng.choices(LABELS, calm)[0]))
    burst = [tickers[i] for i in range(5, 5 + BURSTS * 7, 7) if i < len(tickers)]
    for ticker in burst:
        for _ in range(40):
            docs.append(doc(ticker, now - rng.uniform(0, 300), "negative"))
    return docs, [keys.scope_name("ticker", t) for t in burst]


def run_evaluator_bench(
    settings: Settings, *, scopes: int, ticks: int, tick_s: float, progress: Progress
) -> dict[str, Any]:
    """Fill bench-only windows, tick the evaluator ``ticks`` times; the figures, as JSON."""
    prefix = f"{settings.redis.key_prefix}-bench{uuid.uuid4().hex[:8]}"
    client = redis_client(settings.redis)
    rng = random.Random(21)  # noqa: S311 - synthetic traffic, not secrets
    st = settings.streaming
    clock_at = [time.time()]

    def clock() -> float:
        return clock_at[0]

    try:
        store = RedisWindowStore(client, st.bucket_s, st.retention_s, prefix=prefix,
                                 max_scopes=st.max_scopes, clock=clock, rollup_s=st.rollup_s,
                                 rollup_retention_s=st.rollup_retention_s)  # fmt: skip
        docs, burst = _docs(scopes, clock_at[0], rng)
        progress(f"counting {len(docs)} documents over {scopes} scopes into Redis")
        began = time.monotonic()
        for i in range(0, len(docs), 2000):
            store.add(docs[i : i + 2000])
        load_s = time.monotonic() - began
        # The history was counted just now, much of it into settled buckets: the late set the
        # evaluator reads names it. Let it age past the overlap first, as history would have.
        time.sleep(LATE_OVERLAP_S)
        alerts = RedisAlertStore(client, prefix)
        dispatcher = MemoryDispatcher()
        reports: list[TickReport] = []
        evaluator = Evaluator(store, MemoryThresholdStore(), alerts, dispatcher, None,
                              bucket_s=st.bucket_s, clock=clock)  # fmt: skip
        evaluator.on_tick = reports.append
        tickers, topics, sources = _scope_values(scopes)
        rate = len(docs) / HISTORY_S  # documents keep arriving as they did in the history
        for i in range(ticks):
            progress(f"tick {i + 1} of {ticks}")
            evaluator.tick()
            clock_at[0] += tick_s
            arriving = [
                Countable(ident, ident, rng.choice(LABELS), 0.0,
                          clock_at[0] - rng.uniform(0, tick_s),
                          ("all", f"topic:{rng.choice(topics)}", f"source:{rng.choice(sources)}",
                           f"ticker:{rng.choice(tickers)}"))
                for ident in (uuid.uuid4().hex for _ in range(round(rate * tick_s)))
            ]  # fmt: skip
            store.add(arriving)
        seconds = [r.seconds for r in reports]
        warm = seconds[1:] or seconds
        fired = sorted({f"{a.rule} {a.scope.name}" for a, e in dispatcher.events if e == "fired"})
        fired_scopes = {name.split(" ", 1)[1] for name in fired}
        live = Counter(s.partition(":")[0] for s in evaluator.scopes())
        return {
            "scopes": scopes,
            "live_scopes": dict(live),
            "docs": len(docs),
            "load_s": round(load_s, 2),
            "ticks": ticks,
            "tick_s": tick_s,
            "first_tick_s": round(seconds[0], 3),
            "tick_s_p50": round(float(np.percentile(warm, 50)), 3),
            "tick_s_max": round(max(warm), 3),
            "tick_seconds": [round(x, 3) for x in seconds],
            "evaluated": dict(reports[-1].scopes),
            "fired": fired,
            "bursts": burst,
            "bursts_fired": sorted(set(burst) & fired_scopes),
        }
    finally:
        client.close()
        progress("removing the bench's Redis keys")
        delete_prefixed(settings.redis, prefix)
