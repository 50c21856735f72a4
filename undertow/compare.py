"""``undertow models compare``: a candidate's shadow answers against the live model's.

Joins the shadow index (a shadow worker's answers for the candidate) with the scored documents
(the live answers) by document id, and reports agreement per task, the confusion between the
two, differences per source, and which alerts the evaluator would have fired differently over
the same documents with the candidate's labels (the backtest run twice with the current
thresholds). The report is kept in the registry for ``promote --require-shadow``.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from elasticsearch import Elasticsearch
from elasticsearch.helpers import scan

from alerting.backtest import HistoryDoc, history_minimum_s, history_of, simulate
from alerting.threshold_store import RedisThresholdStore
from alerting.thresholds import ThresholdSet
from streaming.clients import elasticsearch_client, redis_client
from streaming.indices import docs_pattern, shadow_index
from undertow.settings import Settings

CHUNK = 1000
# Alerts listed by name in the report (the counts are always complete).
LISTED = 50
LIVE_FIELDS = ["id", "source", "published_at", "tickers", "duplicate_of", "sentiment", "topic",
               "model"]  # fmt: skip


def report_path(registry_root: Path, candidate: str) -> Path:
    """Where the latest comparison of ``candidate`` is kept."""
    return registry_root / "shadow" / f"{candidate}.json"


def _shadow(es: Elasticsearch, index: str, candidate: str, since: datetime) -> Iterator[Any]:
    if not es.indices.exists(index=index):
        return
    window = {"range": {"published_at": {"gte": since.isoformat()}}}
    query = {"bool": {"filter": [{"term": {"candidate": candidate}}, window]}}
    for hit in scan(es, index=index, query={"query": query}):
        yield hit["_source"]


def _live(es: Elasticsearch, pattern: str, ids: list[str]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for i in range(0, len(ids), CHUNK):
        chunk = ids[i : i + CHUNK]
        resp = es.search(index=pattern, query={"ids": {"values": chunk}}, size=len(chunk),
                         source_includes=LIVE_FIELDS, allow_no_indices=True)  # fmt: skip
        hits = resp["hits"]["hits"]
        found.update({h["_source"]["id"]: h["_source"] for h in hits})
    return found


def _agreement(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    confusion: dict[str, Counter[str]] = {}
    for live, cand in pairs:
        confusion.setdefault(live, Counter())[cand] += 1
    same = sum(1 for live, cand in pairs if live == cand)
    return {
        "n": len(pairs),
        "agreement": round(same / len(pairs), 4) if pairs else None,
        "live_labels": dict(Counter(live for live, _ in pairs).most_common()),
        "candidate_labels": dict(Counter(cand for _, cand in pairs).most_common()),
        # Rows: the live model's label; columns: the candidate's.
        "confusion": {live: dict(row.most_common()) for live, row in sorted(confusion.items())},
    }


def _per_source(rows: list[tuple[dict[str, Any], dict[str, Any]]]) -> dict[str, Any]:
    def share(side: int) -> float:
        negative = sum(1 for r in rows if r[side]["sentiment"]["label"] == "negative")
        return round(negative / len(rows), 4)

    return {
        "n": len(rows),
        "sentiment_agreement": _agreement(
            [(r[0]["sentiment"]["label"], r[1]["sentiment"]["label"]) for r in rows]
        )["agreement"],
        "topic_agreement": _agreement(
            [(r[0]["topic"]["label"], r[1]["topic"]["label"]) for r in rows]
        )["agreement"],
        "negative_share": {"live": share(0), "candidate": share(1)},
    }


def _history_doc(live: dict[str, Any], label: str, score: float, topic: str) -> HistoryDoc:
    published = datetime.fromisoformat(live["published_at"]).timestamp()
    return HistoryDoc(published, label, score, topic, tuple(live.get("tickers") or ()),
                      live.get("source"), unique=not live.get("duplicate_of"))  # fmt: skip


def _alerts(
    joined: list[tuple[dict[str, Any], dict[str, Any]]], tset: ThresholdSet, settings: Settings,
    until: datetime,
) -> dict[str, Any]:  # fmt: skip
    """The alerts the evaluator fires over the joined documents with each model's labels."""
    times = [datetime.fromisoformat(live["published_at"]).timestamp() for live, _ in joined]
    looks_back = history_minimum_s(tset)
    start, end = min(times), until.timestamp()
    if end - start <= looks_back:
        return {"skipped": f"the shadow answers span {end - start:.0f} s; the rules need "
                           f"{looks_back:.0f} s of history before a first evaluation"}  # fmt: skip
    bucket_s, st = settings.streaming.bucket_s, settings.streaming
    fired = {}
    for name, side in (("live", 0), ("candidate", 1)):
        docs = []
        for pair in joined:
            answer = pair[side]
            label, topic = answer["sentiment"]["label"], answer["topic"]["label"]
            score = float(answer["sentiment"]["score"])
            docs.append(_history_doc(pair[0], label, score, topic))
        history = history_of(docs, start, end, bucket_s)
        alerts = simulate(history, tset, start_s=start + looks_back, end_s=end,
                          tick_s=settings.alerting.tick_s, retention_s=st.retention_s,
                          rollup_s=st.rollup_s)  # fmt: skip
        fired[name] = {(a.rule, a.scope) for a in alerts}
    both = fired["live"] & fired["candidate"]
    only_live, only_cand = fired["live"] - both, fired["candidate"] - both

    def named(items: set[tuple[str, str]]) -> list[str]:
        return [f"{rule} {scope}" for rule, scope in sorted(items)][:LISTED]

    return {
        "live": len(fired["live"]), "candidate": len(fired["candidate"]), "both": len(both),
        "only_live": named(only_live), "only_candidate": named(only_cand),
        "evaluated_from": datetime.fromtimestamp(start + looks_back, UTC).isoformat(),
    }  # fmt: skip


def compare(
    settings: Settings,
    candidate: str,
    registry_root: Path,
    *,
    since: timedelta,
    progress: Callable[[str], None] = lambda msg: None,
) -> dict[str, Any]:
    """The comparison report of ``candidate`` over the last ``since`` (kept in the registry)."""
    until = datetime.now(UTC)
    prefix = settings.elasticsearch.index_prefix
    es = elasticsearch_client(settings.elasticsearch)
    try:
        shadow = {s["id"]: s for s in _shadow(es, shadow_index(prefix), candidate, until - since)}
        progress(f"{len(shadow)} shadow answers of {candidate}; joining the live ones")
        live = _live(es, docs_pattern(prefix), sorted(shadow))
    finally:
        es.close()
    joined = [(live[i], shadow[i]) for i in sorted(shadow) if i in live]
    report: dict[str, Any] = {
        "candidate": candidate,
        "since": (until - since).isoformat(),
        "until": until.isoformat(),
        "shadow_answers": len(shadow),
        "compared": len(joined),
        "live_models": dict(Counter(live["model"]["version"] for live, _ in joined).most_common()),
    }
    for task in ("sentiment", "topic"):
        report[task] = _agreement([(live[task]["label"], cand[task]["label"])
                                   for live, cand in joined])  # fmt: skip
    if joined:
        diffs = [abs(float(live["sentiment"]["score"]) - float(cand["sentiment"]["score"]))
                 for live, cand in joined]  # fmt: skip
        report["sentiment"]["mean_abs_score_change"] = round(sum(diffs) / len(diffs), 4)
    by_source: dict[str, list[tuple[dict[str, Any], dict[str, Any]]]] = {}
    for live, cand in joined:
        by_source.setdefault(str(live.get("source") or "?"), []).append((live, cand))
    report["by_source"] = {source: _per_source(rows) for source, rows in sorted(by_source.items())}
    if joined:
        progress("backtesting the current thresholds with each model's labels")
        tset = RedisThresholdStore(
            redis_client(settings.redis), settings.redis.key_prefix
        ).current()
        report["alerts"] = _alerts(joined, tset, settings, until)
    path = report_path(registry_root, candidate)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2) + "\n")
    report["path"] = str(path)
    return report
