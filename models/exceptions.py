"""Errors raised by the models package."""


class ModelsError(Exception):
    """Base of the errors the models package reports to a user with a clear message."""


class ModelError(ModelsError):
    """A model directory, registry entry or export is missing or inconsistent."""


class DataError(ModelsError):
    """A labelled data file cannot be used (missing column, unknown label, empty)."""


class GateError(ModelsError):
    """A candidate version did not pass the promotion gate."""
