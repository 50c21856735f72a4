"""Redis key names: the one module that spells them."""

from __future__ import annotations

# The kinds of scope windows are kept for (and alerts raised on), ``all`` first.
SCOPE_KINDS = ("all", "topic", "ticker", "source")


def scope_name(kind: str, value: str | None = None) -> str:
    """``all``, ``topic:Earnings``, ``ticker:AAPL``, ``source:news``."""
    return kind if value is None else f"{kind}:{value}"


def bucket_key(scope: str, bucket_start: int, prefix: str) -> str:
    """The hash holding one time bucket's counts for one scope (start in epoch seconds)."""
    return f"{prefix}:w:{scope}:{bucket_start}"


def rollup_key(scope: str, rollup_start: int, prefix: str) -> str:
    """The hash holding one rollup period's counts for one scope (kept for weeks: seasonal
    baselines read the same time of day on earlier days)."""
    return f"{prefix}:r:{scope}:{rollup_start}"


def seen_key(doc_id: str, prefix: str) -> str:
    """The set of scopes a document has been counted in (makes counting idempotent)."""
    return f"{prefix}:seen:{doc_id}"


def fingerprint_key(fingerprint: str, prefix: str) -> str:
    """The id of the first document seen with this near-duplicate fingerprint."""
    return f"{prefix}:fp:{fingerprint}"


def story_key(band: str, prefix: str) -> str:
    """The story a MinHash band (``<band>:<hash>``) was filed under (streaming.stories)."""
    return f"{prefix}:story:{band}"


def late_key(prefix: str) -> str:
    """A sorted set of ``<bucket start>:<scope>`` counted into after the bucket settled, scored
    by when (the evaluator's running sums re-read them)."""
    return f"{prefix}:late"


def scopes_key(kind: str, prefix: str) -> str:
    """A sorted set of the scope values of one kind, scored by when they were last seen."""
    return f"{prefix}:scopes:{kind}"


def scored_key(doc_id: str, prefix: str) -> str:
    """Marks a document id as scored (the score worker's dedupe)."""
    return f"{prefix}:scored:{doc_id}"


def thresholds_key(prefix: str) -> str:
    """The current threshold set (JSON)."""
    return f"{prefix}:thresholds:current"


def thresholds_history_key(prefix: str) -> str:
    """The list of threshold changes, newest first."""
    return f"{prefix}:thresholds:history"


def alert_key(alert_id: str, prefix: str) -> str:
    """One alert (JSON)."""
    return f"{prefix}:alert:{alert_id}"


def alerts_key(prefix: str) -> str:
    """A sorted set of alert ids by start time."""
    return f"{prefix}:alerts"


def alert_states_key(prefix: str) -> str:
    """A hash of the evaluator's state per scope."""
    return f"{prefix}:alerting:state"


def alert_feed_key(prefix: str) -> str:
    """A capped stream of alert events, newest last: the live feed (SSE) reads it from the
    event id a reconnecting page last saw."""
    return f"{prefix}:alerting:feed"


def deliveries_key(prefix: str) -> str:
    """A capped list of notification outcomes, newest first."""
    return f"{prefix}:alerting:deliveries"


def alerting_lease_key(prefix: str, shard: int | None = None) -> str:
    """Which ``alerting serve`` process evaluates (its id, with a time to live); one per shard
    when the scopes are shared among evaluators."""
    return f"{prefix}:alerting:lease" + ("" if shard is None else f":{shard}")


def alerting_epoch_key(prefix: str, shard: int | None = None) -> str:
    """The fencing token: raised by one each time the lease (of a shard) changes hands."""
    return f"{prefix}:alerting:epoch" + ("" if shard is None else f":{shard}")


def alerting_outbox_key(prefix: str) -> str:
    """Notifications written with their scope's state, not yet taken for delivery."""
    return f"{prefix}:alerting:outbox"


def alerting_inflight_key(prefix: str) -> str:
    """Notifications taken for delivery and not yet delivered."""
    return f"{prefix}:alerting:outbox:inflight"
