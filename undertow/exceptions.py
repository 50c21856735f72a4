"""Errors of the application shell."""


class ShellError(Exception):
    """A command of the shell (demo, bench, the command line) could not do what it was asked."""


class ConfigError(ShellError):
    """The configuration (file or environment) is invalid; the message names the key."""
