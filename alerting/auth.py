"""API keys with roles: ``analyst`` reads and acknowledges, ``operator`` also changes thresholds
and runs backtests.

Keys come from ``UNDERTOW_API_KEYS="analyst:KEY1,operator:KEY2"`` (several per role allowed) and/or
a file of ``role:sha256hex`` lines (``alerting.api_keys_file``). Only SHA-256 digests are kept in
memory and compared in constant time; keys never reach logs.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from pathlib import Path
from typing import Literal

from alerting.exceptions import ConfigError

Role = Literal["analyst", "operator"]
ROLES: tuple[Role, ...] = ("analyst", "operator")
KEYS_ENV = "UNDERTOW_API_KEYS"


def digest(key: str) -> str:
    """The SHA-256 hex digest of a key (what a keys file holds)."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


class KeyRing:
    """Which role a presented key has, if any."""

    def __init__(self, digests: dict[str, Role]) -> None:
        self._digests = digests

    def __len__(self) -> int:
        return len(self._digests)

    def role_of(self, key: str) -> Role | None:
        """The role of ``key``, or None."""
        presented = digest(key)
        found: Role | None = None
        for known, role in self._digests.items():
            if hmac.compare_digest(known, presented):
                found = role
        return found

    @classmethod
    def load(cls, env_value: str | None = None, keys_file: Path | None = None) -> KeyRing:
        """From the environment variable and/or the file; a malformed entry fails at start."""
        value = os.environ.get(KEYS_ENV, "") if env_value is None else env_value
        digests: dict[str, Role] = {}
        for n, item in enumerate(filter(None, (p.strip() for p in value.split(","))), 1):
            role, sep, key = item.partition(":")
            if not sep or role not in ROLES or len(key) < 8:
                raise ConfigError(
                    f"{KEYS_ENV} entry {n}: use role:KEY with role analyst or "
                    "operator and a key of at least 8 characters"
                )
            digests[digest(key)] = role
        if keys_file is not None:
            for n, line in enumerate(keys_file.read_text().splitlines(), 1):
                if not line.strip() or line.startswith("#"):
                    continue
                role, _, hexdigest = line.strip().partition(":")
                if role not in ROLES or len(hexdigest) != 64:
                    raise ConfigError(f"alerting.api_keys_file line {n}: use role:sha256hex")
                digests[hexdigest.lower()] = role
        return cls(digests)
