"""Errors that end a run with exit code 2 and a one-line message."""


class UsageError(Exception):
    """A mistake in how scalelint was called or configured (exit code 2)."""


class ConfigError(UsageError):
    """A problem in a configuration file; the message names the file and key."""
