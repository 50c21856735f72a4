"""The model card as a record: what serving relies on, typed and validated when it is read.

Training writes more than serving needs (data, hyperparameters, history, speed, notes); those
fields are typed where the tools read them and otherwise kept as written (``extra="allow"``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from models.exceptions import ModelError
from models.serving.calibration import TaskCalibration

CARD_JSON = "card.json"


class ModelCard(BaseModel):
    """A version's ``card.json``."""

    model_config = ConfigDict(extra="allow", frozen=True)

    version: str = Field(min_length=1)
    base_name: str = "unknown"
    sentiment_labels: list[str] = Field(min_length=2)
    topic_labels: list[str] = Field(min_length=2)
    max_length: int | None = Field(default=None, ge=8)
    # Whether links were replaced by one stand-in word in training (the Scorer does the same).
    normalise_links: bool = False
    created_at: str | None = None
    code_version: str | None = None
    dev_metrics: dict[str, dict[str, Any]] = {}
    variants: dict[str, Any] = {}
    speed: dict[str, dict[str, Any]] = {}
    notes: list[str] = []
    # Temperature per task ("sentiment", "topic"), applied by the Scorer; none: raw softmax.
    calibration: dict[str, TaskCalibration] = {}
    # Per task, what the served model predicts on its dev splits (label shares, mean confidence
    # of the predicted label): the score worker exports them beside the live figures for drift.
    reference: dict[str, dict[str, Any]] = {}

    @classmethod
    def read(cls, version_dir: Path) -> ModelCard:
        """The card of a version directory (ModelError naming the file and the field)."""
        path = version_dir / CARD_JSON
        if not path.exists():
            raise ModelError(f"{version_dir} is not a model version (no {CARD_JSON})")
        try:
            return cls.model_validate_json(path.read_text())
        except ValidationError as exc:
            err = exc.errors()[0]
            where = ".".join(str(p) for p in err["loc"]) or "(top level)"
            raise ModelError(f"{path}: {where}: {err['msg']}") from exc

    def as_json(self) -> str:
        """card.json as written: indented, every field the trainer put in it."""
        return json.dumps(self.model_dump(mode="json"), indent=2) + "\n"
