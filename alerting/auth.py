"""API keys with roles: ``analyst`` reads and acknowledges, ``operator`` also changes thresholds
and runs backtests.

Keys come from ``UNDERTOW_API_KEYS="analyst:KEY1,operator:KEY2"`` (several per role allowed) and/or
a file of ``role:scrypt$…`` lines (``alerting.api_keys_file``), each a salted scrypt hash made by
``undertow alerting hash-key``. Keys never reach logs and are never kept as they were given: an
environment key becomes an HMAC with a secret drawn when the process starts; a key from the file
is checked with scrypt once, then remembered as that HMAC, so the slow hash is paid once per key.
Every comparison is constant-time. A caller is named in audits by the id of its key's entry, which
says nothing about the key.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from alerting.exceptions import ConfigError

Role = Literal["analyst", "operator"]
ROLES: tuple[Role, ...] = ("analyst", "operator")
KEYS_ENV = "UNDERTOW_API_KEYS"
SCHEME = "scrypt"
# scrypt cost: 2**14 x 8 x 1 is about 16 MiB and tens of milliseconds per check.
_N, _R, _P = 2**14, 8, 1
MIN_KEY_CHARS = 8


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _scrypt(key: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(key.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=64 * 2**20,
                          dklen=32)  # fmt: skip


def hash_key(key: str) -> str:
    """A salted scrypt hash of ``key``, as a keys file holds it after ``role:``."""
    if len(key) < MIN_KEY_CHARS:
        raise ConfigError(f"an API key needs at least {MIN_KEY_CHARS} characters")
    salt = secrets.token_bytes(16)
    return f"{SCHEME}${_N}${_R}${_P}${_b64(salt)}${_b64(_scrypt(key, salt, _N, _R, _P))}"


@dataclass(frozen=True)
class _Hashed:
    """One keys-file entry: the role and the parameters of its scrypt hash."""

    role: Role
    n: int
    r: int
    p: int
    salt: bytes
    hashed: bytes
    entry_id: str

    @classmethod
    def parse(cls, role: Role, text: str, where: str) -> _Hashed:
        parts = text.split("$")
        try:
            scheme, n, r, p, salt, hashed = parts
            if scheme != SCHEME:
                raise ValueError(scheme)
            entry = cls(role, int(n), int(r), int(p), _unb64(salt), _unb64(hashed), _id(text))
        except ValueError as exc:
            raise ConfigError(
                f"{where}: use role:scrypt$... as printed by `undertow alerting hash-key` "
                "(plain or unsalted SHA-256 digests are not accepted)"
            ) from exc
        if entry.n < 2**10 or entry.n & (entry.n - 1) or len(entry.salt) < 8:
            raise ConfigError(f"{where}: the scrypt parameters are too weak")
        return entry

    def matches(self, key: str) -> bool:
        return hmac.compare_digest(_scrypt(key, self.salt, self.n, self.r, self.p), self.hashed)


def _id(material: str) -> str:
    return hashlib.sha256(material.encode("utf-8")).hexdigest()[:8]


@dataclass(frozen=True)
class Holder:
    """Who presented a key: its role and the id of its entry (for audits)."""

    role: Role
    entry_id: str


class KeyRing:
    """Which role a presented key has, if any."""

    # Keys from the file remembered after their first check (bounded; least recent dropped).
    REMEMBERED = 1024

    def __init__(self, known: dict[bytes, Holder], hashed: list[_Hashed], secret: bytes) -> None:
        self._known = known  # HMAC(secret, key) → holder
        self._hashed = hashed
        self._secret = secret
        self._remembered: OrderedDict[bytes, Holder] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._known) + len(self._hashed)

    def _mac(self, key: str) -> bytes:
        return hmac.new(self._secret, key.encode("utf-8"), hashlib.sha256).digest()

    def holder_of(self, key: str) -> Holder | None:
        """The holder of ``key``, or None."""
        mac = self._mac(key)
        found: Holder | None = None
        with self._lock:
            candidates = [*self._known.items(), *self._remembered.items()]
        for known, holder in candidates:  # every entry compared: no early exit
            if hmac.compare_digest(known, mac):
                found = holder
        if found is not None or not self._hashed:
            return found
        for entry in self._hashed:
            if entry.matches(key):
                found = Holder(entry.role, entry.entry_id)
        if found is not None:
            with self._lock:
                self._remembered[mac] = found
                while len(self._remembered) > self.REMEMBERED:
                    self._remembered.popitem(last=False)
        return found

    def role_of(self, key: str) -> Role | None:
        """The role of ``key``, or None."""
        holder = self.holder_of(key)
        return holder.role if holder else None

    @classmethod
    def load(cls, env_value: str | None = None, keys_file: Path | None = None) -> KeyRing:
        """From the environment variable and/or the file; a malformed entry fails at start."""
        secret = secrets.token_bytes(32)
        value = os.environ.get(KEYS_ENV, "") if env_value is None else env_value
        known: dict[bytes, Holder] = {}
        for n, item in enumerate(filter(None, (p.strip() for p in value.split(","))), 1):
            role, sep, key = item.partition(":")
            if not sep or role not in ROLES or len(key) < MIN_KEY_CHARS:
                raise ConfigError(
                    f"{KEYS_ENV} entry {n}: use role:KEY with role analyst or "
                    f"operator and a key of at least {MIN_KEY_CHARS} characters"
                )
            mac = hmac.new(secret, key.encode("utf-8"), hashlib.sha256).digest()
            known[mac] = Holder(role, f"env{n}")
        hashed: list[_Hashed] = []
        if keys_file is not None:
            try:
                lines = keys_file.read_text(encoding="utf-8").splitlines()
            except OSError as exc:
                raise ConfigError(f"alerting.api_keys_file: cannot read {keys_file}") from exc
            for n, line in enumerate(lines, 1):
                if not line.strip() or line.startswith("#"):
                    continue
                role, _, rest = line.strip().partition(":")
                where = f"alerting.api_keys_file line {n}"
                if role not in ROLES:
                    raise ConfigError(f"{where}: the role must be analyst or operator")
                hashed.append(_Hashed.parse(role, rest, where))
        return cls(known, hashed, secret)


class FailedAuthLimiter:
    """At most ``limit`` failed authentications per client in ``window_s``; then refused (429)
    until the window has passed. Bounded: the least recently failing clients are forgotten."""

    def __init__(self, limit: int = 10, window_s: float = 60.0, clients: int = 10_000) -> None:
        self.limit, self.window_s, self.clients = limit, window_s, clients
        self._failures: OrderedDict[str, list[float]] = OrderedDict()
        self._lock = threading.Lock()

    def _recent(self, client: str, now: float) -> list[float]:
        times = [t for t in self._failures.get(client, []) if t > now - self.window_s]
        if times:
            self._failures[client] = times
        else:
            self._failures.pop(client, None)
        return times

    def retry_after(self, client: str, now: float | None = None) -> float:
        """Seconds ``client`` must wait before trying a key again (0: it may try now)."""
        now = time.monotonic() if now is None else now
        with self._lock:
            times = self._recent(client, now)
        if len(times) < self.limit:
            return 0.0
        return max(0.0, times[-self.limit] + self.window_s - now)

    def failed(self, client: str, now: float | None = None) -> None:
        """Record a failed authentication by ``client``."""
        now = time.monotonic() if now is None else now
        with self._lock:
            times = self._recent(client, now)
            self._failures[client] = [*times, now][-self.limit :]
            self._failures.move_to_end(client)
            while len(self._failures) > self.clients:
                self._failures.popitem(last=False)
