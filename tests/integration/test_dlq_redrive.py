"""`undertow dlq list | redrive` on the real pipeline: documents dead-lettered for a time the
worker could not read are listed by reason and, once the input is told the feed's format (or
the unreadable field is dropped), sent back and processed, each once."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import yaml

from tests.integration.conftest import undertow
from tests.integration.pipeline import Pipeline, wait_for
from tests.integration.test_pipeline import pipeline  # noqa: F401 (the fixture)

FORMAT = "%d/%m/%Y %H:%M"


def _cli(p: Pipeline, *args: str) -> dict[str, Any]:
    done = undertow("--config", str(p.config), "dlq", *args, "--json")
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = orjson.loads(done.stdout.splitlines()[-1])
    return result


def test_dead_letters_are_listed_and_redriven_once_the_cause_is_fixed(
    pipeline: Pipeline,  # noqa: F811 (the fixture imported above)
) -> None:
    pipeline.start("score")
    pipeline.start("sink")
    when = (datetime.now(UTC) - timedelta(hours=1)).replace(second=0, microsecond=0)
    ids = [f"rd-{uuid.uuid4().hex[:8]}" for _ in range(3)]
    times = [when.strftime(FORMAT), when.strftime(FORMAT), "shortly after the open"]
    pipeline.produce([(i.encode(), orjson.dumps({"id": i, "text": f"ACME news {i}",
                                                 "published_at": t}))
                      for i, t in zip(ids, times, strict=True)])  # fmt: skip
    pipeline.produce([(b"ok", orjson.dumps({"id": "ok-1", "text": "fine"}))])
    wait_for("the three dead letters", lambda: len(pipeline.dead_letters()) == 3, timeout=120)
    listed = _cli(pipeline, "list", "--reason", "bad_timestamp")
    assert listed["total"] == 3 and listed["by_reason"] == {"bad_timestamp": 3}
    assert sorted(orjson.loads(x["preview"])["id"] for x in listed["letters"]) == sorted(ids)
    assert all("published_at" in x["error"] for x in listed["letters"])

    # The operator tells the input the feed's format and restarts the score worker...
    config = yaml.safe_load(pipeline.config.read_text())
    topics = pipeline.settings.kafka.topics
    config["streaming"]["inputs"] = [
        {"topic": topics.news, "source": "news", "time_formats": [FORMAT]},
        {"topic": topics.social, "source": "social"},
    ]
    pipeline.config.write_text(yaml.safe_dump(config))
    pipeline.kill("score")
    pipeline.start("score")
    # ...and sends the letters back: two are read now, the third fails again.
    assert _cli(pipeline, "redrive", "--reason", "bad_timestamp")["sent"] == {"bad_timestamp": 3}
    wait_for("the two readable ones indexed", lambda: len(pipeline.es_docs(ids=ids)) == 2,
             timeout=120)  # fmt: skip
    indexed = {d["id"]: d for d in pipeline.es_docs(ids=ids)}
    assert {datetime.fromisoformat(d["published_at"]) for d in indexed.values()} == {when}
    wait_for("the third dead-lettered again", lambda: len(pipeline.dead_letters()) == 4)
    again = [x for x in _cli(pipeline, "list")["letters"] if x["redriven_from"]]
    assert len(again) == 1 and ids[2] in again[0]["preview"]

    # Its time cannot be read: without it, the record's own (original) time is used.
    sent = _cli(pipeline, "redrive", "--position", again[0]["position"],
                "--drop-field", "published_at")  # fmt: skip
    assert sent["sent"] == {"bad_timestamp": 1}
    wait_for("the third indexed", lambda: len(pipeline.es_docs(ids=ids)) == 3, timeout=120)
    third = pipeline.es_docs(ids=[ids[2]])[0]
    assert abs(datetime.fromisoformat(third["published_at"]) - datetime.now(UTC)) < timedelta(
        minutes=10
    )
    # Sending them all back again is harmless: each document is indexed once.
    _cli(pipeline, "redrive", "--reason", "bad_timestamp")
    wait_for("the workers to settle", pipeline.settled, timeout=120)
    assert pipeline.es_count({"ids": {"values": ids}}) == 3
    no_choice = undertow("--config", str(pipeline.config), "dlq", "redrive")
    assert no_choice.returncode == 1 and "--reason" in no_choice.stderr
