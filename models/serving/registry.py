"""The model registry: a directory of versions, a CURRENT pointer, and a promotion log.

The version shipped in the repository (``models/shipped/``) is current until something is
promoted, so the pipeline and the demo work without training.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from pydantic import AwareDatetime, BaseModel, Field

from models.exceptions import ModelError
from models.serving.card import CARD_JSON, ModelCard
from models.serving.provenance import utc_now

SHIPPED_DIR = Path(__file__).resolve().parents[1] / "shipped"
CURRENT_FILE = "CURRENT"
PROMOTIONS_FILE = "promotions.jsonl"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


def check_name(version: str) -> str:
    """``version`` if it is a version name, not a path; else ModelError."""
    if not _NAME.match(version):
        raise ModelError(
            f"version name {version!r}: use letters, digits, '.', '_', '-' (not a path), "
            "starting with a letter or digit"
        )
    return version


class Promotion(BaseModel):
    """One line of promotions.jsonl: which version became current, when, by whom and why."""

    version: str
    at: AwareDatetime
    by: str
    reason: str
    previous: str | None = None
    forced: bool = False
    gate: list[str] = Field(default_factory=list)  # the promotion gate's verdict, line by line
    # What the candidate's shadow comparison said (promote --require-shadow), if asked for.
    shadow: dict[str, Any] | None = None


class Registry:
    """Versions under ``root`` plus the shipped ones; which one is current; who promoted what."""

    def __init__(self, root: Path, shipped: Path | None = SHIPPED_DIR) -> None:
        self.root = root
        self.shipped = shipped

    def _dirs(self) -> list[Path]:
        return [d for d in (self.root, self.shipped) if d is not None and d.is_dir()]

    def versions(self) -> list[str]:
        """Every version that has a model card, newest name last."""
        found = {p.parent.name for d in self._dirs() for p in d.glob(f"*/{CARD_JSON}")}
        return sorted(found)

    def path(self, version: str) -> Path:
        """The directory of ``version`` (registry first, then shipped)."""
        check_name(version)
        for d in self._dirs():
            candidate = d / version
            if (candidate / CARD_JSON).exists():
                return candidate
        raise ModelError(f"no model version {version!r} in {self.root} or {self.shipped}")

    def new_version_dir(self, version: str) -> Path:
        """A fresh directory for a version about to be written."""
        check_name(version)
        target = self.root / version
        if target.exists() or (self.shipped is not None and (self.shipped / version).exists()):
            raise ModelError(f"model version {version!r} exists already")
        target.mkdir(parents=True)
        return target

    def shipped_default(self) -> str | None:
        """The version shipped in the repository, if any."""
        if self.shipped is None:
            return None
        pointer = self.shipped / CURRENT_FILE
        return pointer.read_text().strip() if pointer.exists() else None

    def current(self) -> str:
        """The promoted version, else the shipped default."""
        pointer = self.root / CURRENT_FILE
        version = pointer.read_text().strip() if pointer.exists() else self.shipped_default()
        if not version:
            raise ModelError(f"no current model: promote one (`undertow promote`) into {self.root}")
        return version

    def current_path(self) -> Path:
        """The directory of the current version."""
        return self.path(self.current())

    def card(self, version: str) -> ModelCard:
        """The model card of ``version``."""
        return ModelCard.read(self.path(version))

    def set_current(self, version: str, *, by: str, reason: str, **record: Any) -> Promotion:
        """Point CURRENT at ``version`` atomically and log the promotion with its reason
        (``record``: the other fields of a Promotion)."""
        self.path(version)  # must exist
        entry = Promotion(version=version, at=utc_now(), by=by, reason=reason, **record)
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = self.root / f".{CURRENT_FILE}.tmp"
        tmp.write_text(version + "\n")
        os.replace(tmp, self.root / CURRENT_FILE)
        with (self.root / PROMOTIONS_FILE).open("a") as log:
            log.write(entry.model_dump_json() + "\n")
        return entry

    def promotions(self) -> list[Promotion]:
        """Every recorded promotion, oldest first."""
        path = self.root / PROMOTIONS_FILE
        if not path.exists():
            return []
        lines = path.read_text().splitlines()
        return [Promotion.model_validate_json(line) for line in lines if line.strip()]
