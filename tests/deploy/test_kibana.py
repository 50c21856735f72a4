"""The Kibana saved objects are well-formed and use only fields the index template maps."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from streaming.indices import (
    ALERTS_MAPPINGS,
    CORRECTIONS_MAPPINGS,
    DOCS_MAPPINGS,
    alerts_index,
    corrections_index,
    docs_pattern,
)

NDJSON = Path(__file__).resolve().parents[2] / "deploy" / "kibana" / "undertow.ndjson"


def _fields(mapping: dict[str, Any], prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    for name, spec in mapping.get("properties", {}).items():
        path = f"{prefix}{name}"
        if "type" in spec:
            out[path] = spec["type"]
        out |= _fields(spec, f"{path}.")
        for sub, sub_spec in spec.get("fields", {}).items():
            out[f"{path}.{sub}"] = sub_spec["type"]
    return out


MAPPED = _fields(DOCS_MAPPINGS)
AGGREGATABLE = {k for k, t in MAPPED.items() if t != "text"}
ALERTS_MAPPED = _fields(ALERTS_MAPPINGS)
CORRECTIONS_MAPPED = _fields(CORRECTIONS_MAPPINGS)
# Searches for the analysts' desk, not panels of the market overview.
CORRECTION_SEARCHES = ("undertow-analyst-corrections", "undertow-corrected-documents")


@pytest.fixture(scope="module")
def objects() -> dict[str, dict[str, Any]]:
    lines = [line for line in NDJSON.read_text().splitlines() if line.strip()]
    parsed = [json.loads(line) for line in lines]
    return {o["id"]: o for o in parsed}


def _kql_fields(query: str) -> list[str]:
    return re.findall(r"([\w.]+)\s*:", query)


def test_every_reference_resolves_with_the_right_type(objects: dict[str, dict[str, Any]]) -> None:
    assert {o["type"] for o in objects.values()} == {
        "index-pattern",
        "search",
        "visualization",
        "dashboard",
    }
    for obj in objects.values():
        for ref in obj["references"]:
            assert ref["id"] in objects, f"{obj['id']} references missing {ref['id']}"
            assert objects[ref["id"]]["type"] == ref["type"]


def test_the_data_views_match_the_index_templates(objects: dict[str, dict[str, Any]]) -> None:
    docs, alerts = objects["undertow-docs"], objects["undertow-alerts"]
    assert docs["attributes"]["title"] == docs_pattern()
    assert MAPPED[docs["attributes"]["timeFieldName"]] == "date"
    assert alerts["attributes"]["title"] == f"{alerts_index()}*"
    assert ALERTS_MAPPED[alerts["attributes"]["timeFieldName"]] == "date"


def test_the_alert_history_search_shows_mapped_fields_acks_and_notes(
    objects: dict[str, dict[str, Any]],
) -> None:
    attrs = objects["undertow-alert-history"]["attributes"]
    assert set(attrs["columns"]) <= set(ALERTS_MAPPED)
    assert {"acked_by", "acked_at", "activity.text", "verdict.reason"} <= set(attrs["columns"])
    assert {field for field, _ in attrs["sort"]} <= {
        k for k, t in ALERTS_MAPPED.items() if t != "text"
    }
    [ref] = objects["undertow-alert-history"]["references"]
    assert ref["id"] == "undertow-alerts"


def test_the_corrections_searches_show_mapped_fields_beside_the_models_answer(
    objects: dict[str, dict[str, Any]],
) -> None:
    view = objects["undertow-corrections"]["attributes"]
    assert view["title"] == corrections_index()
    assert CORRECTIONS_MAPPED[view["timeFieldName"]] == "date"
    mine = objects["undertow-analyst-corrections"]["attributes"]
    assert set(mine["columns"]) <= set(CORRECTIONS_MAPPED)
    assert {"predicted.sentiment", "sentiment", "by"} <= set(mine["columns"])
    docs = objects["undertow-corrected-documents"]
    assert set(docs["attributes"]["columns"]) <= set(MAPPED)
    assert {"sentiment.label", "correction.sentiment"} <= set(docs["attributes"]["columns"])
    source = json.loads(docs["attributes"]["kibanaSavedObjectMeta"]["searchSourceJSON"])
    assert set(_kql_fields(source["query"]["query"])) <= set(MAPPED)
    assert docs["references"][0]["id"] == "undertow-docs"


def test_the_negative_search_uses_mapped_fields(objects: dict[str, dict[str, Any]]) -> None:
    search = objects["undertow-negative-documents"]
    attrs = search["attributes"]
    assert set(attrs["columns"]) <= set(MAPPED)
    assert {field for field, _ in attrs["sort"]} <= AGGREGATABLE
    source = json.loads(attrs["kibanaSavedObjectMeta"]["searchSourceJSON"])
    assert source["query"]["query"] == 'sentiment.label : "negative"'
    assert set(_kql_fields(source["query"]["query"])) <= set(MAPPED)


def _walk_fields(node: Any) -> list[str]:
    """Every value of a "field" key, and every key under a term filter, in a JSON tree."""
    found: list[str] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "field" and isinstance(value, str):
                found.append(value)
            elif key == "term" and isinstance(value, dict):
                found += list(value)
            else:
                found += _walk_fields(value)
    elif isinstance(node, list):
        for item in node:
            found += _walk_fields(item)
    return found


def test_visualizations_aggregate_only_mapped_keyword_date_or_number_fields(
    objects: dict[str, dict[str, Any]],
) -> None:
    vis = [o for o in objects.values() if o["type"] == "visualization"]
    assert len(vis) == 2
    for obj in vis:
        state = json.loads(obj["attributes"]["visState"])
        if state["type"] == "vega":
            spec = json.loads(state["params"]["spec"])
            url = spec["data"]["url"]
            assert url["index"] == docs_pattern() and url["%timefield%"] == "published_at"
            fields = _walk_fields(url["body"])
        else:
            fields = [a["params"]["field"] for a in state["aggs"] if "field" in a["params"]]
        assert fields, obj["id"]
        assert set(fields) <= AGGREGATABLE, f"{obj['id']}: {set(fields) - AGGREGATABLE}"


def test_the_dashboard_shows_all_three_panels(objects: dict[str, dict[str, Any]]) -> None:
    (board,) = [o for o in objects.values() if o["type"] == "dashboard"]
    panels = json.loads(board["attributes"]["panelsJSON"])
    names = {ref["name"]: ref["id"] for ref in board["references"]}
    assert sorted(names[p["panelRefName"]] for p in panels) == sorted(
        o["id"]
        for o in objects.values()
        if o["type"] in ("search", "visualization")
        and o["id"] not in ("undertow-alert-history", *CORRECTION_SEARCHES)
    )
