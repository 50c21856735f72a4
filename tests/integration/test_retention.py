"""Daily indices are deleted by the day in their name once older than the retention, on the
real Elasticsearch, through the command an operator runs."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import yaml

from streaming.clients import elasticsearch_client
from streaming.indices import docs_index
from tests.integration.conftest import undertow
from undertow.settings import Settings


def test_prune_indices_deletes_only_days_older_than_the_retention(
    stack: Settings, tmp_path: Path
) -> None:
    prefix = f"r{uuid.uuid4().hex[:8]}"
    config = tmp_path / "undertow.yaml"
    config.write_text(yaml.safe_dump({"elasticsearch": {"index_prefix": prefix,
                                                        "retention_days": 30}}))  # fmt: skip
    now = datetime.now(UTC)
    old, kept = (
        docs_index(now - timedelta(days=40), prefix),
        docs_index(now - timedelta(days=29), prefix),
    )
    today = docs_index(now, prefix)
    es = elasticsearch_client(stack.elasticsearch)
    try:
        for name in (old, kept, today):
            es.indices.create(index=name)
        dry = undertow("--config", str(config), "prune-indices", "--dry-run", "--json")
        assert dry.returncode == 0, dry.stderr
        assert orjson.loads(dry.stdout) == {"deleted": [], "expired": [old]}
        assert es.indices.exists(index=old)

        done = undertow("--config", str(config), "prune-indices", "--json")
        assert done.returncode == 0, done.stderr
        assert orjson.loads(done.stdout)["deleted"] == [old]
        assert not es.indices.exists(index=old)
        assert es.indices.exists(index=kept) and es.indices.exists(index=today)
    finally:
        es.indices.delete(index=",".join((old, kept, today)), ignore_unavailable=True)
        es.close()
