"""Threshold sets: per rule, defaults per kind of scope and overrides per scope, versioned.

A change is validated as a whole (a bad value is refused naming its field), stored as a new
version with who, when, old, new and why, and read by the evaluator at its next tick, so it
takes effect without a restart. Each rule's values are validated by that rule's own thresholds
model (``alerting.rules.registry``); a rule missing from a stored set runs on its defaults.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    SerializeAsAny,
    ValidationError,
    WithJsonSchema,
    model_validator,
)

from alerting.rules.base import Rule, RuleThresholds
from alerting.rules.registry import DEFAULT_RULE, REGISTRY
from streaming import keys

log = logging.getLogger(__name__)
DEFAULTS_FILE = Path(__file__).resolve().parent / "defaults.yaml"
KINDS = keys.SCOPE_KINDS


class ThresholdError(ValueError):
    """A threshold change that cannot be applied; ``field`` names the offending key."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def rule_of(name: str) -> Rule[Any]:
    """The registered rule called ``name`` (ThresholdError naming the known ones otherwise)."""
    rule = REGISTRY.get(name)
    if rule is None:
        raise ThresholdError("rule", f"unknown rule {name!r}; use one of {sorted(REGISTRY)}")
    return rule


# Each rule has a thresholds model of its own: in the schema, an object (GET /api/rules gives
# each rule's own schema); in Python, that rule's model, serialised with all its fields.
AnyThresholds = Annotated[
    SerializeAsAny[RuleThresholds],
    WithJsonSchema({"type": "object", "description": "the thresholds model of the rule"}),
]


class RuleThresholdSet(BaseModel):
    """One rule's thresholds: full defaults per scope kind, partial overrides per scope."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    defaults: dict[str, AnyThresholds]
    overrides: dict[str, dict[str, Any]] = {}


class ThresholdSet(BaseModel):
    """One version of the thresholds of every rule."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: int = Field(ge=1)
    rules: dict[str, RuleThresholdSet] = {}

    @model_validator(mode="before")
    @classmethod
    def _typed_per_rule(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = dict(data)
        if "defaults" in data or "overrides" in data:  # stored before rules were plugins
            legacy = {k: data.pop(k) for k in ("defaults", "overrides") if k in data}
            data["rules"] = {DEFAULT_RULE: legacy}
        rules = data.get("rules") or {}
        if isinstance(rules, dict):
            data["rules"] = {
                name: _typed_rule(REGISTRY[name], value)
                for name, value in rules.items()
                if _known(name)
            }
        return data

    def of(self, rule: str) -> RuleThresholdSet:
        """The thresholds of ``rule``: stored, or its defaults if the set has none for it."""
        found = self.rules.get(rule)
        if found is not None:
            return found
        model = rule_of(rule).thresholds
        return RuleThresholdSet(defaults={kind: model() for kind in KINDS})

    def for_scope(self, rule: str, scope: str) -> RuleThresholds:
        """The defaults of the scope's kind with the scope's own overrides on top."""
        mine = self.of(rule)
        base = mine.defaults[scope.partition(":")[0]]
        extra = mine.overrides.get(scope)
        return type(base).model_validate(base.model_dump() | extra) if extra else base


class ThresholdAudit(BaseModel):
    """One change in the history: the version it made, when, who, why, the old and new set."""

    version: int
    at: AwareDatetime
    by: str
    reason: str
    old: ThresholdSet
    new: ThresholdSet


_WARNED: set[str] = set()


def _known(name: str) -> bool:
    if name in REGISTRY:
        return True
    if name not in _WARNED:  # the stored set is read at every tick: say it once
        _WARNED.add(name)
        log.warning("thresholds for unknown rule %r ignored (not in the rule registry)", name)
    return False


def _typed_rule(rule: Rule[Any], value: Any) -> Any:
    """A rule's stored thresholds with each kind's defaults validated by the rule's model."""
    if not isinstance(value, dict) or not isinstance(value.get("defaults", {}), dict):
        return value
    given = value.get("defaults") or {}
    defaults = {kind: _model(rule, given.get(kind)) for kind in KINDS}
    unknown = sorted(set(given) - set(KINDS))
    if unknown:
        raise ValueError(f"defaults: unknown scope kind(s) {unknown}; use {list(KINDS)}")
    return {**value, "defaults": defaults}


def _model(rule: Rule[Any], value: Any) -> Any:
    if isinstance(value, rule.thresholds):
        return value
    return rule.thresholds.model_validate(value or {})


def _field_of(exc: ValidationError, prefix: str) -> ThresholdError:
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err["loc"])
    return ThresholdError(f"{prefix}.{where}" if where else prefix, err["msg"])


def _merge_defaults(
    rule: Rule[Any], current: RuleThresholdSet, changes: dict[str, Any]
) -> dict[str, RuleThresholds]:
    merged = dict(current.defaults)
    for kind, fields in changes.items():
        if kind not in KINDS:
            raise ThresholdError(f"defaults.{kind}", f"unknown scope kind; use one of {KINDS}")
        if not isinstance(fields, dict):
            raise ThresholdError(f"defaults.{kind}", "must be an object of thresholds")
        try:
            merged[kind] = rule.thresholds.model_validate(merged[kind].model_dump() | fields)
        except ValidationError as exc:
            raise _field_of(exc, f"defaults.{kind}") from exc
    return merged


def _check_override(
    rule: Rule[Any], defaults: dict[str, RuleThresholds], scope: str, fields: dict[str, Any]
) -> dict[str, Any]:
    """The override as stored: validated over its kind's defaults (the values as parsed)."""
    try:
        checked = rule.thresholds.model_validate(
            defaults[scope.partition(":")[0]].model_dump() | fields
        )
    except ValidationError as exc:
        raise _field_of(exc, f"overrides.{scope}") from exc
    # Keep the validated values ("20" from a command line is stored as 20).
    return {name: getattr(checked, name) for name in fields}


def _merge_overrides(
    rule: Rule[Any], defaults: dict[str, RuleThresholds], current: dict[str, dict[str, Any]],
    changes: dict[str, Any],
) -> dict[str, dict[str, Any]]:  # fmt: skip
    """Every override, the existing ones too, re-validated over the new defaults."""
    merged = dict(current)
    for scope, fields in changes.items():
        kind, sep, value = scope.partition(":")
        if kind not in KINDS[1:] or not sep or not value:
            raise ThresholdError(
                f"overrides.{scope}", "use topic:NAME, ticker:SYMBOL or source:NAME"
            )
        if fields is None:
            merged.pop(scope, None)  # null removes an override
        elif not isinstance(fields, dict):
            raise ThresholdError(f"overrides.{scope}", "must be an object of thresholds")
        else:
            merged[scope] = fields
    return {scope: _check_override(rule, defaults, scope, f) for scope, f in merged.items()}


def apply_change(
    current: ThresholdSet,
    defaults: dict[str, Any] | None,
    overrides: dict[str, Any] | None,
    rule: str = DEFAULT_RULE,
) -> ThresholdSet:
    """The next version: ``rule``'s ``defaults`` merged per kind over the current ones, its
    ``overrides`` merged per scope (null removes one); the whole resulting set validated."""
    plugin = rule_of(rule)
    mine = current.of(rule)
    merged = _merge_defaults(plugin, mine, defaults or {})
    new_overrides = _merge_overrides(plugin, merged, mine.overrides, overrides or {})
    rules = dict(current.rules)
    rules[rule] = RuleThresholdSet(defaults=merged, overrides=new_overrides)
    return ThresholdSet(version=current.version + 1, rules=rules)


def initial_set(path: Path = DEFAULTS_FILE) -> ThresholdSet:
    """Version 1, from the defaults file (every registered rule; missing ones on defaults)."""
    data = yaml.safe_load(path.read_text()) or {}
    given = data.get("rules") or {}
    rules = {name: given.get(name) or {} for name in REGISTRY}
    return ThresholdSet(version=1, rules=rules)
