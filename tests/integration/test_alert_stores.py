"""The Redis alert and threshold stores meet the same contracts as the in-memory ones."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import redis

from alerting.alert_store import RedisAlertStore
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
