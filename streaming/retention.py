"""Retention of the daily document indices, kept by the application (the Elasticsearch
distribution the local stack runs has no index lifecycle management).

A daily index is deleted once its date is more than ``elasticsearch.retention_days`` before
today (UTC). The score worker dead-letters documents dated before the same bound
(``expired_timestamp``), so no input can create an index that this would delete at once. The
sink worker prunes at start and then hourly; ``undertow prune-indices`` does it on demand.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta

from elasticsearch import Elasticsearch

from streaming.indices import docs_pattern

log = logging.getLogger(__name__)
_DAY = re.compile(r"-docs-(\d{4})\.(\d{2})\.(\d{2})$")


def index_day(name: str, prefix: str) -> date | None:
    """The day a daily docs index of ``prefix`` holds (None for any other name)."""
    if not name.startswith(f"{prefix}-docs-"):
        return None
    found = _DAY.search(name)
    if found is None:
        return None
    try:
        return date(*(int(g) for g in found.groups()))
    except ValueError:
        return None


def expired(names: Iterable[str], prefix: str, retention_days: int, today: date) -> list[str]:
    """The daily indices among ``names`` whose day is older than the retention, oldest first."""
    floor = today - timedelta(days=retention_days)
    days = {n: index_day(n, prefix) for n in names}
    return sorted((n for n, d in days.items() if d is not None and d < floor),
                  key=lambda n: days[n] or floor)  # fmt: skip


def prune(
    client: Elasticsearch, prefix: str, retention_days: int, *, dry_run: bool = False
) -> list[str]:
    """Delete the expired daily indices of ``prefix``; return their names."""
    found = client.indices.get(
        index=docs_pattern(prefix),
        expand_wildcards="all",
        allow_no_indices=True,
        filter_path="*.settings.index.uuid",
    )
    names = expired(found.body or {}, prefix, retention_days, datetime.now(UTC).date())
    if names and not dry_run:
        for name in names:  # one at a time: a wildcard-free delete of exactly these
            client.indices.delete(index=name, ignore_unavailable=True)
        log.info("deleted %d expired daily index(es): %s", len(names), ", ".join(names))
    return names


async def keep(client: Elasticsearch, prefix: str, retention_days: int, every_s: float) -> None:
    """Prune now and every ``every_s`` seconds; a failure is logged and tried next time."""
    while True:
        try:
            await asyncio.to_thread(prune, client, prefix, retention_days)
        except Exception:  # retention must never stop the sink
            log.exception("pruning expired daily indices failed; trying again in %.0f s", every_s)
        await asyncio.sleep(every_s)
