"""The Grafana dashboard plots metrics that undertow really exports."""

from __future__ import annotations

import json
import re
from pathlib import Path

from alerting.api import create_app
from streaming.metrics import WorkerMetrics

DASHBOARD = Path(__file__).resolve().parents[2] / "deploy" / "grafana" / "undertow.json"
SUFFIXES = ("_total", "_bucket", "_sum", "_count")


def _exported() -> set[str]:
    api = create_app(None).state.metrics  # type: ignore[arg-type]
    worker = WorkerMetrics("score")
    worker.watch_lag("undertow-score", dict)  # as a worker with metrics on registers it
    worker.watch_drift(128)  # as the score worker does
    return {family.name for registry in (worker.registry, api) for family in registry.collect()}


def _base(name: str) -> str:
    for suffix in SUFFIXES:
        if name.endswith(suffix):
            return name.removesuffix(suffix)
    return name


def test_every_undertow_series_on_the_dashboard_is_exported() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    used = {m for e in exprs for m in re.findall(r"\bundertow_[a-z_]+", e)}
    assert len(used) >= 9
    assert {m for m in used if _base(m) not in _exported()} == set()
    # Every panel has a unique id and a title; every target a query.
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    assert all(p["title"] and p["targets"] for p in dashboard["panels"])
