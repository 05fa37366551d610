"""Errors the `ganforge` command reports as one line, without a traceback."""


class UsageError(Exception):
    """A user mistake (bad flag value, unreadable file...): printed as `ganforge: error: <msg>`."""
