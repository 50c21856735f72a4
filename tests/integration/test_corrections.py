"""Analysts' corrections on the real stack: made through the API, kept with who and when, shown
on the document, and exported as training files."""

from __future__ import annotations

import csv
import time
from pathlib import Path

import httpx
import orjson

from tests.integration.conftest import undertow
from tests.integration.pipeline import Pipeline, wait_for

ANALYST = {"Authorization": "Bearer analyst-key-123"}
OPERATOR = {"Authorization": "Bearer operator-key-456"}
# Written for this test.
DOCS = [
    {"id": "corr-1", "title": "Acme Corp raises its dividend",
     "text": "The board lifted the payout for the tenth year."},
    {"id": "corr-2", "text": "Globex shares drift as traders wait for the Fed"},
]  # fmt: skip


def _indexed(pipeline: Pipeline) -> None:
    now = int(time.time() * 1000)
    pipeline.produce([(d["id"].encode(), orjson.dumps({**d, "published_at": now})) for d in DOCS])
    pipeline.start("score")
    pipeline.start("sink")
    wait_for("the documents indexed", lambda: pipeline.es_count() == len(DOCS), timeout=180)


def test_a_correction_is_kept_shown_and_exported(
    server: tuple[str, Pipeline], tmp_path: Path
) -> None:
    url, pipeline = server
    _indexed(pipeline)
    label = f"{url}/api/documents/corr-1/label"
    first = httpx.post(label, headers=ANALYST, timeout=10,
                       json={"sentiment": "negative", "note": "a cut, not a raise"})  # fmt: skip
    assert first.status_code == 200, first.text
    body = first.json()
    assert body["sentiment"] == "negative" and body["by"].startswith("analyst:")
    assert body["text"].startswith("Acme Corp raises its dividend\n")
    assert body["predicted"]["sentiment"] in ("negative", "neutral", "positive")
    # A second correction adds the topic, keeps the sentiment and remembers the first.
    second = httpx.post(label, headers=OPERATOR, json={"topic": "Dividend"}, timeout=10).json()
    assert (second["sentiment"], second["topic"]) == ("negative", "Dividend")
    assert second["history"][0]["note"] == "a cut, not a raise"

    view = httpx.get(f"{url}/api/documents/corr-1", headers=ANALYST, timeout=10).json()
    assert view["correction"]["topic"] == "Dividend"
    doc = pipeline.es_docs(ids=["corr-1"])[0]
    assert doc["correction"]["sentiment"] == "negative"
    assert doc["sentiment"]["label"] == body["predicted"]["sentiment"]  # the model's answer kept

    out = tmp_path / "feedback"
    done = undertow("--config", str(pipeline.config), "feedback", "export", "--out", str(out),
                    "--json")  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert orjson.loads(done.stdout.strip().splitlines()[-1])["counts"] == {
        "sentiment": {"negative": 1}, "topic": {"Dividend": 1}
    }  # fmt: skip
    for task, expected in (("sentiment", "negative"), ("topic", "Dividend")):
        with (out / f"{task}.csv").open(newline="") as handle:
            rows = list(csv.DictReader(handle))
        assert [(r["id"], r["label"]) for r in rows] == [("corr-1", expected)]
        assert rows[0]["text"] == body["text"]


def test_corrections_refuse_what_they_cannot_keep(server: tuple[str, Pipeline]) -> None:
    url, pipeline = server
    _indexed(pipeline)

    def post(doc: str, body: dict[str, object], headers: dict[str, str] = ANALYST) -> int:
        return httpx.post(f"{url}/api/documents/{doc}/label", headers=headers, json=body,
                          timeout=10).status_code  # fmt: skip

    assert post("corr-2", {"sentiment": "negative"}, headers={}) == 401
    assert post("no-such-doc", {"sentiment": "negative"}) == 404
    assert post("corr-2", {"sentiment": "furious"}) == 422
    assert post("corr-2", {"topic": "Astrology"}) == 422
    assert post("corr-2", {}) == 422
    assert post("corr-2", {"note": "x" * 3000, "sentiment": "neutral"}) == 422
    assert httpx.get(f"{url}/api/documents/corr-2", headers=ANALYST,
                     timeout=10).json()["correction"] is None  # fmt: skip


def test_a_document_found_in_kibana_is_corrected_from_the_command_line(
    server: tuple[str, Pipeline],
) -> None:
    url, pipeline = server
    _indexed(pipeline)
    config = ("--config", str(pipeline.config), "feedback", "label")
    done = undertow(*config, "corr-2", "--topic", "Fed | Central Banks", "--json")
    assert done.returncode == 0, done.stderr
    made = orjson.loads(done.stdout.strip().splitlines()[-1])
    assert made["topic"] == "Fed | Central Banks" and made["by"].startswith("cli:")
    view = httpx.get(f"{url}/api/documents/corr-2", headers=ANALYST, timeout=10).json()
    assert view["correction"]["topic"] == "Fed | Central Banks"
    wrong = undertow(*config, "corr-2", "--sentiment", "furious")
    assert wrong.returncode != 0 and "sentiment must be one of" in wrong.stderr
    missing = undertow(*config, "no-such-doc", "--sentiment", "negative")
    assert missing.returncode != 0 and "no indexed document" in missing.stderr
