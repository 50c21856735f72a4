"""Errors raised by the alerting package."""


class AlertingError(Exception):
    """Base of the errors alerting reports to a user with a clear message."""


class ConfigError(AlertingError):
    """Alerting's configuration (API keys, the keys file) is unusable; the message names it."""
