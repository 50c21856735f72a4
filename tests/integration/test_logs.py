"""Operations: with UNDERTOW_LOG_FORMAT=json every line a worker prints is one JSON object in
the Elastic Common Schema, starting with one line that says what the worker is; a normal
`stack up` logs no ERROR."""

from __future__ import annotations

import signal
from typing import Any

import orjson
import pytest

from tests.integration.pipeline import Pipeline, wait_for
from tests.integration.test_pipeline import pipeline  # noqa: F401 (the fixture)

ECS = {"@timestamp", "log.level", "message", "ecs.version"}


def _lines(p: Pipeline, name: str) -> list[dict[str, Any]]:
    text = (p.home / f"{name}.log").read_text()
    out = []
    for line in text.splitlines():
        if line.strip():
            try:
                out.append(orjson.loads(line))
            except orjson.JSONDecodeError as exc:
                raise AssertionError(f"not one JSON object: {line!r}") from exc
    return out


def test_every_line_a_worker_prints_is_an_ecs_json_object(
    pipeline: Pipeline,  # noqa: F811 (the fixture imported above)
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("UNDERTOW_LOG_FORMAT", "json")
    pipeline.start("score")
    pipeline.start("sink")
    pipeline.produce([(b"a", orjson.dumps({"id": "log-1", "text": "ACME shares fall"})),
                      (b"b", b"{not json")])  # fmt: skip
    wait_for("the document indexed", lambda: pipeline.es_count() == 1, timeout=120)
    wait_for("the dead letter", lambda: len(pipeline.dead_letters()) == 1)
    pipeline.kill("score", signal.SIGTERM)
    pipeline.kill("sink", signal.SIGTERM)
    for name in ("score", "sink"):
        lines = _lines(pipeline, name)
        assert lines and all(set(entry) | _flat(entry) >= ECS for entry in lines), name
        assert all(entry["service"]["name"] == "undertow" for entry in lines)
        [start] = [e for e in lines if e["message"].startswith(f"{name} worker starting")]
        assert start["log.level"] == "info" and start["undertow"]["role"] == name
    score_start = next(e for e in _lines(pipeline, "score") if "starting" in e["message"])
    assert score_start["undertow"]["model"]["version"]
    assert score_start["undertow"]["model"]["providers"].startswith("CPUExecutionProvider")


def _flat(entry: dict[str, Any], prefix: str = "") -> set[str]:
    keys: set[str] = set()
    for key, value in entry.items():
        keys.add(prefix + key)
        if isinstance(value, dict):
            keys |= _flat(value, prefix + key + ".")
    return keys
