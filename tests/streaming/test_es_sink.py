"""The Elasticsearch sink's retry and refusal behaviour, with a scripted client."""

from __future__ import annotations

from typing import Any

import pytest
from elastic_transport import ApiResponseMeta, HttpHeaders, NodeConfig
from elastic_transport import ConnectionError as TransportConnectionError
from elasticsearch import ApiError

from streaming.es_sink import ElasticsearchSink
from streaming.exceptions import RefusedDocuments
from tests.streaming.factories import scored


class ScriptedClient:
    """Answers bulk calls from a script: an exception to raise or a response to return."""

    def __init__(self, script: list[Any]) -> None:
        self.script = script
        self.calls: list[list[dict[str, Any]]] = []

    def bulk(self, *, operations: list[dict[str, Any]], filter_path: str) -> Any:
        self.calls.append(operations)
        step = self.script.pop(0)
        if isinstance(step, Exception):
            raise step
        return step


def _sink(client: ScriptedClient, slept: list[float]) -> ElasticsearchSink:
    return ElasticsearchSink(client, sleep=slept.append)  # type: ignore[arg-type]


def test_a_down_cluster_is_retried_with_growing_backoff_until_it_answers() -> None:
    down = TransportConnectionError("connection refused")
    client = ScriptedClient([down, down, down, {"errors": False}])
    slept: list[float] = []
    docs = [scored(), scored()]
    _sink(client, slept).write(docs)
    assert len(client.calls) == 4
    assert slept == [0.5, 1.0, 2.0]
    ids = [op["index"]["_id"] for op in client.calls[-1] if "index" in op]
    assert ids == [d.id for d in docs]


def test_overloaded_items_are_resent_alone() -> None:
    a, b = scored(), scored()
    partial = {"errors": True, "items": [{"index": {"status": 201}}, {"index": {"status": 429}}]}
    client = ScriptedClient([partial, {"errors": False}])
    _sink(client, []).write([a, b])
    assert [op["index"]["_id"] for op in client.calls[1] if "index" in op] == [b.id]


def test_a_refused_document_is_named() -> None:
    a, b = scored(), scored()
    bad = {"errors": True, "items": [
        {"index": {"status": 201}},
        {"index": {"status": 400, "error": {"reason": "failed to parse field [published_at]"}}},
    ]}  # fmt: skip
    with pytest.raises(RefusedDocuments) as info:
        _sink(ScriptedClient([bad]), []).write([a, b])
    assert info.value.refused == {b.id: "failed to parse field [published_at]"}


def _refused(status: int) -> ApiError:
    meta = ApiResponseMeta(status, "1.1", HttpHeaders(), 0.0, NodeConfig("http", "h", 9200))
    return ApiError("request refused", meta, {"error": {"reason": "too large"}})


def test_a_refused_bulk_request_is_split_until_the_culprit_is_found() -> None:
    docs = [scored() for _ in range(4)]
    refused = _refused(413)
    ok = {"errors": False}
    # [a b c d] refused → [a b] fine, [c d] refused → [c] refused alone, [d] fine.
    client = ScriptedClient([refused, ok, refused, refused, ok])
    with pytest.raises(RefusedDocuments) as info:
        _sink(client, []).write(docs)
    assert list(info.value.refused) == [docs[2].id]
    assert "413" in info.value.refused[docs[2].id]
    indexed = [op["index"]["_id"] for call in (client.calls[1], client.calls[4]) for op in call
               if "index" in op]  # fmt: skip
    assert indexed == [docs[0].id, docs[1].id, docs[3].id]


def test_overload_and_server_errors_are_retried_a_bad_request_is_not() -> None:
    slept: list[float] = []
    client = ScriptedClient([_refused(503), _refused(429), {"errors": False}])
    _sink(client, slept).write([scored()])
    assert len(client.calls) == 3 and len(slept) == 2
    lone = scored()
    with pytest.raises(RefusedDocuments):
        _sink(ScriptedClient([_refused(400)]), slept).write([lone])
