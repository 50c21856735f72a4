"""KRaft storage formatting copes with any random cluster id, including one starting with "-"."""

from __future__ import annotations

from pathlib import Path

import pytest

from deploy.stack import kafka
from deploy.stack.kafka import KafkaService
from deploy.stack.settings import StackSettings
from tests.integration.conftest import ROOT


def test_a_cluster_id_starting_with_a_dash_formats(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(kafka, "new_cluster_id", lambda: "-NaOcZk-QD24ZClqFf-cVQ")
    settings = StackSettings(home=tmp_path / "home", cache_dir=ROOT / ".undertow" / "cache")
    service = KafkaService(settings)
    service.install()
    service.prepare()
    meta = (service.data_dir / "kraft-logs" / "meta.properties").read_text()
    assert "cluster.id=-NaOcZk-QD24ZClqFf-cVQ" in meta
