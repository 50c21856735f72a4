"""Stories in the real Redis: shared by every score worker, forgotten after the horizon."""

from __future__ import annotations

import time
import uuid

from streaming.clients import redis_client
from streaming.stories import RedisStories
from undertow.settings import Settings

ORIGIN = "Glencore profit falls as coal prices slide from last year's record highs"


def test_two_workers_see_one_story_until_the_horizon_passes(stack: Settings) -> None:
    client = redis_client(stack.redis)
    prefix = f"undertow-test-stories-{uuid.uuid4().hex[:6]}"
    try:
        one = RedisStories(client, prefix, similarity=0.6, horizon_s=2)
        two = RedisStories(client, prefix, similarity=0.6, horizon_s=2)
        assert one.stories({"a": ORIGIN}) == {"a": "a"}
        assert two.stories({"b": f"{ORIGIN} https://t.co/x1", "c": "Fed holds rates"}) == {
            "b": "a", "c": "c"}  # fmt: skip
        time.sleep(2.5)  # past the horizon: the same text begins a new story
        assert two.stories({"d": ORIGIN}) == {"d": "d"}
    finally:
        for key in client.scan_iter(f"{prefix}:*"):
            client.delete(key)
        client.close()
