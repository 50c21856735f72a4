"""Errors of the local stack; each message tells the user what to do."""


class StackError(Exception):
    """A stack command could not do what it was asked."""


class MissingToolError(StackError):
    """A system tool the stack needs (Java, Maven, apt-get) is not there."""


class PortInUseError(StackError):
    """A port the stack needs is held by a process the stack did not start."""
