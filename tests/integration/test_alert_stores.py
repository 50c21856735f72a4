"""The Redis alert and threshold stores meet the same contracts as the in-memory ones."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest
import redis

from alerting.alert_store import RedisAlertStore, ScopeChange
from alerting.lease import Fenced, RedisLease
from alerting.lifecycle import ScopeState
from alerting.threshold_store import RedisThresholdStore
from streaming.clients import redis_client
from tests.alerting.alert_store_contract import check_alert_store
from tests.alerting.threshold_store_contract import check_threshold_store
from undertow.settings import Settings


@pytest.fixture
def namespace(stack: Settings) -> Iterator[tuple[redis.Redis, str]]:
    client = redis_client(stack.redis)
    prefix = f"undertow-test-{uuid.uuid4().hex[:8]}"
    try:
        yield client, prefix
    finally:
        for key in client.scan_iter(f"{prefix}:*"):
            client.delete(key)
        client.close()


def test_redis_alert_store_meets_the_contract(namespace: tuple[redis.Redis, str]) -> None:
    check_alert_store(RedisAlertStore(*namespace))


def test_redis_threshold_store_meets_the_contract(namespace: tuple[redis.Redis, str]) -> None:
    check_threshold_store(RedisThresholdStore(*namespace))


def test_one_holder_at_a_time_and_a_stale_holder_cannot_write(
    namespace: tuple[redis.Redis, str],
) -> None:
    client, prefix = namespace
    first = RedisLease(client, prefix, ttl_s=0.5, holder="first")
    second = RedisLease(client, prefix, ttl_s=0.5, holder="second")
    fence = first.hold()
    assert fence is not None and second.hold() is None
    assert first.hold() == fence  # renewing keeps the epoch
    store = RedisAlertStore(client, prefix)
    state = ScopeState(alert_id="a1", phase="pending", streak=1)
    store.commit(ScopeChange("negative_spike/ticker:A", state), fence)

    time.sleep(0.7)  # the first stalls past its lease; the second takes over
    taken = second.hold()
    assert taken is not None and taken.token == fence.token + 1
    assert first.hold() is None
    with pytest.raises(Fenced):  # what the stalled one writes now is refused, whole
        store.commit(ScopeChange("negative_spike/ticker:A", ScopeState(), event="fired"), fence)
    assert store.states() == {"negative_spike/ticker:A": state}
    store.commit(ScopeChange("negative_spike/ticker:A", ScopeState()), taken)
    assert store.states() == {}

    second.release()  # a clean stop hands over at once
    again = first.hold()
    assert again is not None and again.token == taken.token + 1
