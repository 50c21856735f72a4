"""One active evaluator per Redis namespace: a lease with a fencing token.

Every ``undertow alerting serve`` on a namespace competes for one Redis key with a time to live.
The holder evaluates; the others stand by and poll, and the first to find the key gone takes
it. Each change of hands raises an epoch counter: the holder writes every scope change under
its epoch (``Fence``), and the store refuses a write whose epoch is no longer current, so a
holder that stalled past its lease (a long pause, a partition) cannot write over its successor.
"""

from __future__ import annotations

import logging
import secrets
import socket
from dataclasses import dataclass
from typing import Protocol

import redis

from alerting.exceptions import AlertingError
from streaming import keys

log = logging.getLogger(__name__)

# KEYS: the lease, the epoch. ARGV: this holder, the time to live in ms.
# Returns the epoch this holder writes under, or 0 while another holds the lease.
_HOLD = """
local current = redis.call('GET', KEYS[1])
if current == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return tonumber(redis.call('GET', KEYS[2]) or '0')
end
if not current then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return redis.call('INCR', KEYS[2])
end
return 0
"""

# KEYS: the lease. ARGV: this holder. Deletes the lease only if this holder has it.
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


class Fenced(AlertingError):
    """A write under an epoch that is no longer current: another evaluator holds the lease."""


@dataclass(frozen=True)
class Fence:
    """The epoch a holder writes under, and where the current epoch is kept."""

    key: str
    token: int


class Lease(Protocol):
    """Whether this process may evaluate now."""

    holder: str
    ttl_s: float  # how long the lease lasts unrenewed

    def hold(self) -> Fence | None:
        """Take or renew the lease: the fence to write under, or None while another has it."""

    def release(self) -> None:
        """Give the lease up (at a clean stop), so a standby takes over at once."""


def holder_id() -> str:
    """This process's name in the lease: host, then a random part."""
    return f"{socket.gethostname()[:64]}-{secrets.token_hex(4)}"


class RedisLease:
    """The lease as a Redis key with a time to live, and the epoch as a counter beside it."""

    def __init__(
        self, client: redis.Redis, prefix: str, ttl_s: float, holder: str, shard: int | None = None
    ) -> None:
        self.client = client
        self.keys = [keys.alerting_lease_key(prefix, shard), keys.alerting_epoch_key(prefix, shard)]
        self.ttl_s = ttl_s
        self.holder = holder
        self._hold = client.register_script(_HOLD)
        self._release = client.register_script(_RELEASE)
        self._held: int | None = None

    def hold(self) -> Fence | None:
        """Take or renew the lease; None while another process holds it."""
        ttl_ms = max(1, int(self.ttl_s * 1000))
        epoch = int(self._hold(keys=self.keys, args=[self.holder, ttl_ms]))
        held = epoch or None
        if held != self._held:
            if held is None:
                log.warning("evaluator %s: another evaluator holds the lease; standing by",
                            self.holder)  # fmt: skip
            else:
                log.warning("evaluator %s: took the lease (epoch %d)", self.holder, held)
            self._held = held
        return None if held is None else Fence(self.keys[1], held)

    def release(self) -> None:
        """Give the lease up if this process holds it."""
        self._release(keys=self.keys[:1], args=[self.holder])
        self._held = None
