"""API keys: roles, hashed key files, bad entries refused at start."""

from __future__ import annotations

from pathlib import Path

import pytest

from alerting.auth import KeyRing, digest
from alerting.exceptions import ConfigError


def test_keys_have_roles_and_bad_entries_fail_at_start(tmp_path: Path) -> None:
    ring = KeyRing.load("analyst:aaaaaaaa1,analyst:aaaaaaaa2,operator:oooooooo1")
    assert ring.role_of("aaaaaaaa2") == "analyst"
    assert ring.role_of("oooooooo1") == "operator"
    assert ring.role_of("oooooooo") is None
    hashed = tmp_path / "keys"
    hashed.write_text(f"# role:sha256\noperator:{digest('from-the-file-1')}\n")
    assert KeyRing.load("", hashed).role_of("from-the-file-1") == "operator"
    for bad in ("admin:xxxxxxxxxx", "analyst:short", "nocolon"):
        with pytest.raises(ConfigError, match="UNDERTOW_API_KEYS entry 1"):
            KeyRing.load(bad)
