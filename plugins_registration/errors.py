"""The two ways the script fails: a problem to report in one line (exit 1) or a wrong invocation (exit 2)."""

from __future__ import annotations


class RegistrationError(Exception):
    """A failure the admin can act on; its message is one line, free of secrets."""


class UsageError(RegistrationError):
    """The command line or the environment is incomplete or contradictory."""
