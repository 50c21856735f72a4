"""Errors raised by the streaming package."""


class UndertowError(Exception):
    """Base of every error undertow reports to a user with a clear message."""


class ConfigError(UndertowError):
    """The configuration (file or environment) is invalid; the message names the key."""


class BootstrapError(UndertowError):
    """Topics or index templates could not be created."""
