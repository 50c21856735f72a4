"""The Redis window store meets the same contract as the in-memory one, on the real Redis."""

from __future__ import annotations

from streaming.clients import redis_client
from streaming.window_store import RedisWindowStore
from tests.streaming.window_contract import check_contract, check_scope_bound
from undertow.settings import Settings


def test_redis_store_meets_the_contract(stack: Settings) -> None:
    client = redis_client(stack.redis)
    try:
        check_contract(RedisWindowStore(client, bucket_s=60, retention_s=48 * 3600,
                                        prefix="undertow-test"))  # fmt: skip
        check_scope_bound(RedisWindowStore(client, prefix="undertow-test-bound", max_scopes=3))
    finally:
        for key in [
            *client.scan_iter("undertow-test:*"),
            *client.scan_iter("undertow-test-bound:*"),
        ]:
            client.delete(key)
        client.close()
