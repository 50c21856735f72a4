"""API keys: roles, salted slow hashes in key files, bad entries refused at start, failed
authentications limited."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import pytest

from alerting.auth import FailedAuthLimiter, KeyRing, hash_key
from alerting.exceptions import ConfigError


def test_keys_have_roles_and_bad_entries_fail_at_start() -> None:
    ring = KeyRing.load("analyst:aaaaaaaa1,analyst:aaaaaaaa2,operator:oooooooo1")
    assert ring.role_of("aaaaaaaa2") == "analyst"
    assert ring.role_of("oooooooo1") == "operator"
    assert ring.role_of("oooooooo") is None
    for bad in ("admin:xxxxxxxxxx", "analyst:short", "nocolon"):
        with pytest.raises(ConfigError, match="UNDERTOW_API_KEYS entry 1"):
            KeyRing.load(bad)


def test_a_keys_file_holds_salted_slow_hashes_that_say_nothing_of_the_key(
    tmp_path: Path,
) -> None:
    first, second = hash_key("from-the-file-1"), hash_key("from-the-file-1")
    assert first != second  # salted: the same key hashes differently each time
    assert first.startswith("scrypt$") and "from-the-file-1" not in first
    keys = tmp_path / "keys"
    keys.write_text(f"# role:hash\noperator:{first}\nanalyst:{hash_key('analyst-key-2')}\n")
    ring = KeyRing.load("", keys)
    assert ring.role_of("from-the-file-1") == "operator"
    assert ring.role_of("analyst-key-2") == "analyst"
    assert ring.role_of("from-the-file-2") is None
    holder = ring.holder_of("from-the-file-1")
    assert holder is not None and holder.entry_id not in first  # an id, not part of the hash
    assert ring.holder_of("from-the-file-1") == holder  # remembered after the first check


@pytest.mark.parametrize(
    "line",
    [
        f"operator:{hashlib.sha256(b'from-the-file-1').hexdigest()}",  # unsalted: refused
        "operator:from-the-file-1",  # a plain key
        "operator:scrypt$16$8$1$c2FsdHNhbHQ$aGFzaA",  # too weak to be worth it
        "admin:scrypt$16384$8$1$c2FsdHNhbHQ$aGFzaA",
    ],
)
def test_a_keys_file_entry_that_is_not_a_strong_hash_fails_at_start(
    tmp_path: Path, line: str
) -> None:
    keys = tmp_path / "keys"
    keys.write_text(f"# comment\n{line}\n")
    with pytest.raises(ConfigError, match=r"alerting\.api_keys_file line 2"):
        KeyRing.load("", keys)


def test_hash_key_prints_a_line_the_keys_file_accepts(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "undertow.cli", "alerting", "hash-key", "--role", "operator"],
        input="s3cret-operator-key\n", capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "s3cret" not in done.stdout
    keys = tmp_path / "keys"
    keys.write_text(done.stdout)
    assert KeyRing.load("", keys).role_of("s3cret-operator-key") == "operator"
    short = subprocess.run(
        [sys.executable, "-m", "undertow.cli", "alerting", "hash-key", "--role", "operator"],
        input="short\n", capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert short.returncode == 2 and "at least 8 characters" in short.stderr


def test_failed_authentications_are_limited_per_client_for_a_window() -> None:
    limiter = FailedAuthLimiter(limit=3, window_s=60)
    for i in range(3):
        assert limiter.retry_after("10.0.0.1", now=100 + i) == 0
        limiter.failed("10.0.0.1", now=100 + i)
    assert limiter.retry_after("10.0.0.1", now=103) == pytest.approx(57)
    assert limiter.retry_after("10.0.0.2", now=103) == 0  # another client is not affected
    assert limiter.retry_after("10.0.0.1", now=161) == 0  # the window has passed
