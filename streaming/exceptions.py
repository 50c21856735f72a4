"""Errors raised by the streaming package."""


class UndertowError(Exception):
    """Base of every error undertow reports to a user with a clear message."""


class ConfigError(UndertowError):
    """The configuration (file or environment) is invalid; the message names the key."""


class BootstrapError(UndertowError):
    """Topics or index templates could not be created."""


class DecodeError(UndertowError):
    """An input message that cannot become a RawDoc; it goes to the dead-letter topic."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


class ScoreError(UndertowError):
    """A batch could not be delivered in order (an earlier one failed); it is consumed again."""


class SinkError(UndertowError):
    """A sink refused documents for a reason retrying will not fix (e.g. a mapping conflict)."""


class RefusedDocuments(SinkError):
    """Documents a sink rejected for their content; ``refused`` maps id → reason."""

    def __init__(self, refused: dict[str, str]) -> None:
        sample = "; ".join(f"{k}: {v}" for k, v in list(refused.items())[:3])
        super().__init__(f"{len(refused)} document(s) refused: {sample}")
        self.refused = refused
