"""The Redis window store meets the same contract as the in-memory one, on the real Redis."""

from __future__ import annotations

from streaming.clients import redis_client
from streaming.window_store import RedisWindowStore
from tests.streaming.window_contract import check_contract
from undertow.settings import Settings


def test_redis_store_meets_the_contract(stack: Settings) -> None:
    client = redis_client(stack.redis)
    try:
        check_contract(RedisWindowStore(client, bucket_s=60, retention_s=48 * 3600,
                                        prefix="undertow-test"))  # fmt: skip
    finally:
        for key in client.scan_iter("undertow-test:*"):
            client.delete(key)
        client.close()
