"""Errors raised by the streaming package."""


class StreamingError(Exception):
    """Base of the errors the pipeline reports to a user with a clear message."""


class BootstrapError(StreamingError):
    """Topics or index templates could not be created."""


class DecodeError(StreamingError):
    """An input message that cannot become a RawDoc; it goes to the dead-letter topic."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


class ScoreError(StreamingError):
    """A batch could not be delivered in order (an earlier one failed); it is consumed again."""


class SinkError(StreamingError):
    """A sink refused documents for a reason retrying will not fix (e.g. a mapping conflict)."""


class RefusedDocuments(SinkError):
    """Documents a sink rejected for their content; ``refused`` maps id → reason."""

    def __init__(self, refused: dict[str, str]) -> None:
        sample = "; ".join(f"{k}: {v}" for k, v in list(refused.items())[:3])
        super().__init__(f"{len(refused)} document(s) refused: {sample}")
        self.refused = refused


class ConfigError(StreamingError):
    """Settings a worker cannot run with (the message names the key)."""
