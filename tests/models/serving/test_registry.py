"""The registry: versions, the current pointer, the promotion log, the shipped fallback."""

from __future__ import annotations

from pathlib import Path

import pytest

from models.exceptions import ModelError
from models.serving.registry import SHIPPED_DIR, Registry
from tests.models.tiny import build


def test_current_falls_back_to_the_shipped_version_until_a_promotion(
    registry_dir: Path, tmp_path: Path
) -> None:
    shipped = tmp_path / "shipped"
    build(shipped / "tiny-shipped", "tiny-shipped")
    (shipped / "CURRENT").write_text("tiny-shipped\n")
    registry = Registry(registry_dir, shipped)
    assert registry.current() == "tiny-shipped"
    assert registry.versions() == ["tiny-bad", "tiny-good", "tiny-shipped"]

    registry.set_current("tiny-good", reason="better on dev", by="ops")
    assert registry.current() == "tiny-good"
    assert registry.current_path() == registry_dir / "tiny-good"
    log = registry.promotions()
    assert [(p.version, p.reason, p.by) for p in log] == [("tiny-good", "better on dev", "ops")]


def test_no_current_model_is_a_clear_error(registry_dir: Path) -> None:
    with pytest.raises(ModelError, match="no current model"):
        Registry(registry_dir, shipped=None).current()


def test_unknown_versions_and_bad_names_are_refused(registry_dir: Path) -> None:
    registry = Registry(registry_dir, shipped=None)
    with pytest.raises(ModelError, match="no model version 'nope'"):
        registry.path("nope")
    with pytest.raises(ModelError, match="no model version"):
        registry.set_current("nope", by="test", reason="test")
    with pytest.raises(ModelError, match="exists already"):
        registry.new_version_dir("tiny-good")
    with pytest.raises(ModelError, match="version name"):
        registry.new_version_dir("../escape")


@pytest.mark.parametrize("name", ["../tiny-good", "/tmp/x", "a/b", ".hidden", "", "x" * 101])
def test_a_version_name_that_is_a_path_is_refused_before_any_file_is_touched(
    registry_dir: Path, tmp_path: Path, name: str
) -> None:
    # A model directory just outside the registry: reachable by "../", never by a name.
    build(tmp_path / "outside", "outside")
    registry = Registry(registry_dir, shipped=None)
    for call in (registry.path, registry.new_version_dir):
        with pytest.raises(ModelError, match="not a path"):
            call(name)
    with pytest.raises(ModelError, match="not a path"):
        registry.set_current(name, by="test", reason="test")
    with pytest.raises(ModelError, match="not a path"):
        registry.path("../outside")
    assert not (registry_dir / "CURRENT").exists()


def test_the_repository_ships_a_current_model() -> None:
    registry = Registry(Path("/nonexistent-registry"), SHIPPED_DIR)
    version = registry.current()
    card = registry.card(version)
    assert (registry.path(version) / "model.int8.onnx").exists()
    assert (registry.path(version) / "tokenizer.json").exists()
    assert card.sentiment_labels == ["negative", "neutral", "positive"]
    assert len(card.topic_labels) == 20
    assert "undertow train" in str(card.model_extra and card.model_extra["command"])
