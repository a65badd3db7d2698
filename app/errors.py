"""The error taxonomy (ARCHITECTURE.md, invariant 6): every failure is classified once, here, as one of these.

`app.dispatch` is the only place that turns them into RQ behaviour: retry later, run at a known time, fail
for good, flag the connection, or drop quietly.
"""

from __future__ import annotations

from datetime import datetime


class ConnectorError(Exception):
    """Base class. `user_message` is written for a finance user; `str(error)` may be technical."""

    def __init__(self, message: str, *, user_message: str | None = None) -> None:
        super().__init__(message)
        self.user_message = user_message or message


class Retryable(ConnectorError):
    """A passing fault (5xx, timeout, minute or concurrent 429): retry after `retry_after` or a backoff."""

    def __init__(self, message: str, *, retry_after: float | None = None, user_message: str | None = None):
        super().__init__(message, user_message=user_message)
        self.retry_after = retry_after


class Deferred(ConnectorError):
    """Not now, but at a known time (daily limit reset, an invoice dated in the future)."""

    def __init__(self, message: str, *, run_at: datetime, user_message: str | None = None) -> None:
        super().__init__(message, user_message=user_message)
        self.run_at = run_at


class Permanent(ConnectorError):
    """Retrying cannot help (validation): mark it failed and wait until a person asks again."""


class ConnectionLost(ConnectorError):
    """The Xero authorisation is gone (invalid_grant): the connection must be reconnected by an admin."""


class Ignored(ConnectorError):
    """Known but not ours to act on (an invoice created in Xero, a row deleted before we ran)."""


class LockBusy(ConnectorError):
    """Another worker holds this invoice; the job is handed to a follow-up instead of waiting."""
