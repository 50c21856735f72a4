"""POST /api/score on the real stack: the pipeline's answers for the same documents, keys and
bounds enforced, in the OpenAPI schema."""

from __future__ import annotations

import time
from typing import Any

import httpx
import orjson

from tests.integration.pipeline import Pipeline, fixture_texts, wait_for

ANALYST = {"Authorization": "Bearer analyst-key-123"}
# Written for this test: a company named without a cashtag, a cashtag, a title with a body.
DOCUMENTS = [
    {"id": "score-api-1", "title": "Microsoft shares slump after cloud growth disappoints",
     "text": "Investors sold the stock as guidance fell short."},
    {"id": "score-api-2", "text": "$AAPL soars to a record high after blowout iPhone sales"},
    {"id": "score-api-3", "text": "Fed holds rates steady, signals patience on cuts"},
]  # fmt: skip


def _same_label(answer: dict[str, Any], seen: dict[str, Any]) -> bool:
    """The same sentiment label, or a text on the boundary: INT8 activations are quantized per
    batch, so batch mates move a text whose two likeliest labels are within 0.05 of each other
    (the pipeline's own batches do the same)."""
    if answer["label"] == seen["label"]:
        return True
    first, second = sorted(seen["probs"].values(), reverse=True)[:2]
    return bool(first - second < 0.05)


def test_score_answers_as_the_pipeline_did(server: tuple[str, Pipeline]) -> None:
    url, pipeline = server
    texts = fixture_texts()[:40]
    docs = DOCUMENTS + [{"id": f"score-api-t{i}", "text": t} for i, t in enumerate(texts)]
    now = int(time.time() * 1000)
    pipeline.produce([(d["id"].encode(), orjson.dumps({**d, "published_at": now})) for d in docs])
    pipeline.start("score")
    pipeline.start("sink")
    wait_for("every document indexed", lambda: pipeline.es_count() == len(docs), timeout=180)
    indexed = {d["id"]: d for d in pipeline.es_docs(ids=[d["id"] for d in docs])}

    response = httpx.post(f"{url}/api/score", headers=ANALYST, json={"documents": docs},
                          timeout=60)  # fmt: skip
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["model"]["version"] == indexed["score-api-1"]["model"]["version"]
    results = body["results"]
    assert [r["id"] for r in results] == [d["id"] for d in docs]
    for result in results:
        seen = indexed[result["id"]]
        assert _same_label(result["sentiment"], seen["sentiment"]), result["id"]
        assert result["topic"]["label"] == seen["topic"]["label"], result["id"]
        # INT8 activations are quantized per batch, so batch mates move figures a little.
        assert abs(result["sentiment"]["score"] - seen["sentiment"]["score"]) < 0.05
        assert result["tickers"] == seen["tickers"], result["id"]
        assert [e["ticker"] for e in result["entities"]] == [e["ticker"] for e in seen["entities"]]
    assert "MSFT" in results[0]["tickers"] and "AAPL" in results[1]["tickers"]

    plain = httpx.post(f"{url}/api/score", headers=ANALYST,
                       json={"texts": [d["text"] for d in docs[3:]]}, timeout=60)  # fmt: skip
    assert plain.status_code == 200
    for result, doc in zip(plain.json()["results"], docs[3:], strict=True):
        assert _same_label(result["sentiment"], indexed[doc["id"]]["sentiment"]), doc["id"]


def test_score_refuses_bad_requests_with_a_reason(server: tuple[str, Pipeline]) -> None:
    url, _ = server

    def post(body: dict[str, Any], headers: dict[str, str] = ANALYST) -> httpx.Response:
        return httpx.post(f"{url}/api/score", headers=headers, json=body, timeout=30)

    assert post({"texts": ["fine"]}, headers={}).status_code == 401
    too_many = post({"texts": ["a"] * 257})
    assert too_many.status_code == 422 and "texts" in too_many.text
    assert post({"texts": []}).status_code == 422
    assert post({"texts": ["a"], "documents": [{"text": "b"}]}).status_code == 422
    bad = post({"documents": [{"text": "ok"}, {"text": "   "}, {"text": "x" * 30_000}]})
    assert bad.status_code == 422
    refused = {tuple(d["loc"]) for d in bad.json()["detail"]}
    assert refused == {("body", "documents", 1), ("body", "documents", 2)}
    assert post({"documents": [{"text": "a", "surprise": 1}]}).status_code == 422
    schema = httpx.get(f"{url}/openapi.json", timeout=10).json()
    operation = schema["paths"]["/api/score"]["post"]
    assert operation["security"] and "requestBody" in operation
