"""Errors raised by the models package."""

from streaming.exceptions import UndertowError


class ModelError(UndertowError):
    """A model directory, registry entry or export is missing or inconsistent."""


class DataError(UndertowError):
    """A labelled data file cannot be used (missing column, unknown label, empty)."""


class GateError(UndertowError):
    """A candidate version did not pass the promotion gate."""
