"""Threshold sets: defaults per kind of scope, overrides per scope, versioned and audited.

A change is validated as a whole (a bad value is refused naming its field), stored as a new
version with who, when, old, new and why, and read by the evaluator at its next tick, so it
takes effect without a restart.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from alerting.records import Scope
from alerting.rules import SpikeThresholds
from streaming import keys

DEFAULTS_FILE = Path(__file__).resolve().parent / "defaults.yaml"
KINDS = keys.SCOPE_KINDS


class ThresholdError(ValueError):
    """A threshold change that cannot be applied; ``field`` names the offending key."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class ThresholdSet(BaseModel):
    """One version of the thresholds."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: int = Field(ge=1)
    defaults: dict[str, SpikeThresholds]
    overrides: dict[str, dict[str, Any]] = {}

    @field_validator("defaults")
    @classmethod
    def _every_kind(cls, value: dict[str, SpikeThresholds]) -> dict[str, SpikeThresholds]:
        if set(value) != set(KINDS):
            raise ValueError(f"defaults must name exactly the scope kinds {list(KINDS)}")
        return value

    def for_scope(self, scope: str) -> SpikeThresholds:
        """The defaults of the scope's kind with the scope's own overrides on top."""
        base = self.defaults[Scope.parse(scope).kind]
        extra = self.overrides.get(scope)
        return SpikeThresholds.model_validate(base.model_dump() | extra) if extra else base


def _field_of(exc: ValidationError, prefix: str) -> ThresholdError:
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err["loc"])
    return ThresholdError(f"{prefix}.{where}" if where else prefix, err["msg"])


def _merge_defaults(current: ThresholdSet, changes: dict[str, Any]) -> dict[str, SpikeThresholds]:
    merged = dict(current.defaults)
    for kind, fields in changes.items():
        if kind not in KINDS:
            raise ThresholdError(f"defaults.{kind}", f"unknown scope kind; use one of {KINDS}")
        if not isinstance(fields, dict):
            raise ThresholdError(f"defaults.{kind}", "must be an object of thresholds")
        try:
            merged[kind] = SpikeThresholds.model_validate(merged[kind].model_dump() | fields)
        except ValidationError as exc:
            raise _field_of(exc, f"defaults.{kind}") from exc
    return merged


def _check_overrides(
    defaults: dict[str, SpikeThresholds], overrides: dict[str, Any]
) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for scope, fields in overrides.items():
        kind, sep, value = scope.partition(":")
        if kind not in KINDS[1:] or not sep or not value:
            raise ThresholdError(
                f"overrides.{scope}", "use topic:NAME, ticker:SYMBOL or source:NAME"
            )
        if fields is None:
            continue  # null removes an override
        if not isinstance(fields, dict):
            raise ThresholdError(f"overrides.{scope}", "must be an object of thresholds")
        try:
            checked = SpikeThresholds.model_validate(defaults[kind].model_dump() | fields)
        except ValidationError as exc:
            raise _field_of(exc, f"overrides.{scope}") from exc
        # Keep the validated values ("20" from a command line is stored as 20).
        out[scope] = {name: getattr(checked, name) for name in fields}
    return out


def apply_change(
    current: ThresholdSet, defaults: dict[str, Any] | None, overrides: dict[str, Any] | None
) -> ThresholdSet:
    """The next version: ``defaults`` merged per kind over the current ones, ``overrides``
    merged per scope (null removes one); everything validated."""
    merged = _merge_defaults(current, defaults or {})
    new_overrides = dict(current.overrides)
    checked = _check_overrides(merged, overrides or {})
    for scope, fields in (overrides or {}).items():
        if fields is None:
            new_overrides.pop(scope, None)
        else:
            new_overrides[scope] = checked[scope]
    return ThresholdSet(version=current.version + 1, defaults=merged, overrides=new_overrides)


def initial_set(path: Path = DEFAULTS_FILE) -> ThresholdSet:
    """Version 1, from the defaults file."""
    data = yaml.safe_load(path.read_text()) or {}
    defaults = {
        kind: SpikeThresholds.model_validate((data.get("defaults") or {}).get(kind) or {})
        for kind in KINDS
    }
    return ThresholdSet(version=1, defaults=defaults, overrides=data.get("overrides") or {})
