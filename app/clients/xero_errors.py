"""Every failure of a Xero call, classified once, here, into the taxonomy of `app.errors`.

| What happened                                    | Raised                                               |
|--------------------------------------------------|------------------------------------------------------|
| 429 minute / concurrent / appminute              | `Retryable(retry_after=Retry-After)`                 |
| 429 day                                          | `Deferred(run_at=now + Retry-After)`                 |
| 503, a refused connection, a connect timeout     | `Retryable` (nothing reached Xero)                   |
| other 5xx, read timeout, dropped answer (read)   | `Retryable`                                          |
| other 5xx, read timeout, dropped answer (write)  | `OutcomeUnknown` (a `Retryable`): look up first      |
| 400                                              | `XeroValidationError` (a `Permanent`) with `.messages` |
| 401 TokenExpired                                 | `TokenExpired` (a `Retryable`): the gateway forces   |
|                                                  | one refresh and retries the call once               |
| other 401, 403                                   | `ConnectionLost` ("Reconnect Xero")                  |
| 404                                              | `NotFound` (a `Permanent`)                           |

A 429 for one tenant also pauses that tenant (only) in the shared limiter: the gateway does that with
`tenant_pause_seconds`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import urllib3
from xero_python.exceptions import ApiException, ApiSSLException, NotFoundException, RateLimitException

from app.errors import ConnectionLost, ConnectorError, Deferred, Permanent, Retryable

RECONNECT_MESSAGE = "Reconnect Xero: the connection's authorisation has expired or was revoked."
DEFAULT_RETRY_AFTER_SECONDS = 5.0
# Problems of one tenant (pause it); "appminute" is the whole app's minute, not this tenant's fault.
_TENANT_PROBLEMS = {"minute", "day", "concurrent"}


class OutcomeUnknown(Retryable):
    """A write whose answer was lost: it may have happened in Xero. Look it up before writing it again."""


class TokenExpired(Retryable):
    """Xero says the access token expired although the stored one looked valid (clock skew, server-side
    expiry): the gateway refreshes it at once and retries the call once, instead of retrying with it."""


class NotFound(Permanent):
    """Xero has no such record (deleted there, or a stale id)."""


class XeroValidationError(Permanent):
    """Xero refused the request (400); `messages` are Xero's own validation messages, in order."""

    def __init__(self, message: str, *, messages: tuple[str, ...], user_message: str | None = None) -> None:
        super().__init__(message, user_message=user_message)
        self.messages = messages


def reconnect(detail: str) -> ConnectionLost:
    return ConnectionLost(detail, user_message=RECONNECT_MESSAGE)


def validation_messages(body: Any) -> tuple[str, ...]:
    """Xero's validation messages from a 400 body ({"Elements":[{"ValidationErrors":[{"Message":…}]}]})."""
    if not isinstance(body, Mapping):
        return ()
    messages = [
        str(error["Message"])
        for element in body.get("Elements") or []
        if isinstance(element, Mapping)
        for error in element.get("ValidationErrors") or []
        if isinstance(error, Mapping) and error.get("Message")
    ]
    if not messages and body.get("Message"):
        messages.append(str(body["Message"]))
    return tuple(dict.fromkeys(messages))  # Xero repeats a message per element; say it once


def validation_error(action: str, messages: tuple[str, ...]) -> XeroValidationError:
    said = "; ".join(messages) or "no reason given"
    return XeroValidationError(
        f"Xero refused to {action}: {said}", messages=messages, user_message=f"Xero refused to {action}: {said}"
    )


def tenant_pause_seconds(error: BaseException) -> float | None:
    """How long to stop calling this tenant after a 429 that is the tenant's own limit, else None."""
    if isinstance(error, RateLimitException) and _problem(error) in _TENANT_PROBLEMS:
        return _retry_after(error) or DEFAULT_RETRY_AFTER_SECONDS
    return None


def classify(error: BaseException, *, action: str, write: bool, now: datetime | None = None) -> ConnectorError:
    """The one mapping from what the SDK or urllib3 raised to the connector's taxonomy.

    `action` completes "Xero refused to …" / "could not …" in user messages, e.g. "create the invoice".
    """
    if isinstance(error, ConnectorError):
        return error
    if isinstance(error, RateLimitException):
        return _rate_limited(error, action, now or datetime.now(UTC))
    if isinstance(error, NotFoundException):
        return NotFound(
            f"Xero answered 404 to {action}", user_message=f"Could not {action}: the record no longer exists in Xero."
        )
    if isinstance(error, ApiSSLException):
        return Retryable(
            f"TLS failure reaching Xero to {action}: {error.reason}",
            user_message="Xero could not be reached securely; the sync will retry.",
        )
    if isinstance(error, ApiException):
        return _by_status(error, action, write)
    if isinstance(error, urllib3.exceptions.HTTPError):
        return _transport(error, action, write)
    if write:
        # Something unexpected after the request went out (an unreadable answer): it may have taken effect.
        return OutcomeUnknown(
            f"unexpected failure to {action}: {error!r}",
            user_message=f"Xero's answer to '{action}' was unreadable; checking before retrying.",
        )
    return Permanent(
        f"unexpected failure to {action}: {error!r}",
        user_message=f"Could not {action}: Xero sent an answer the connector cannot read.",
    )


def _problem(error: ApiException) -> str:
    headers = error.headers or {}
    return str(headers.get("X-Rate-Limit-Problem") or headers.get("x-rate-limit-problem") or "").strip().lower()


def _retry_after(error: ApiException) -> float | None:
    headers = error.headers or {}
    raw = headers.get("Retry-After") or headers.get("retry-after")
    try:
        return max(float(raw), 0.0) if raw is not None else None
    except ValueError:
        return None


def _rate_limited(error: RateLimitException, action: str, now: datetime) -> ConnectorError:
    problem = _problem(error) or "minute"
    wait = _retry_after(error) or DEFAULT_RETRY_AFTER_SECONDS
    if problem == "day":
        resume = now + timedelta(seconds=wait)
        return Deferred(
            f"Xero daily limit reached ({action})",
            run_at=resume,
            user_message=f"Xero's daily limit was reached; the sync resumes at {resume:%H:%M} UTC.",
        )
    return Retryable(
        f"Xero rate limit ({problem}) while trying to {action}",
        retry_after=wait,
        user_message="Xero asked the connector to slow down; the sync will retry shortly.",
    )


def _body(error: ApiException) -> Any:
    raw = error.body
    try:
        return json.loads(raw) if raw else None
    except (ValueError, TypeError):
        return None


def _by_status(error: ApiException, action: str, write: bool) -> ConnectorError:
    status = int(getattr(error.http_resp, "status", 0) or 0)
    body = _body(error)
    if status == 400:
        return validation_error(action, validation_messages(body))
    if status == 401:
        detail = str(body.get("Detail", "")) if isinstance(body, Mapping) else ""
        if detail.split(":", 1)[0].strip() == "TokenExpired":  # Xero may add ": token expired at …"
            return TokenExpired(
                f"Xero said the access token expired while trying to {action}",
                retry_after=1.0,
                user_message="Xero said the connector's access token had expired; the sync will retry.",
            )
        return reconnect(f"Xero answered 401 ({detail or 'unauthorised'}) to {action}")
    if status == 403:
        return reconnect(f"Xero answered 403 to {action}: the organisation is no longer connected")
    if status == 503:
        return Retryable(
            f"Xero unavailable (503) while trying to {action}",
            retry_after=_retry_after(error),
            user_message="Xero is temporarily unavailable; the sync will retry.",
        )
    if status >= 500:
        kind = OutcomeUnknown if write else Retryable
        return kind(
            f"Xero failed ({status}) while trying to {action}",
            retry_after=_retry_after(error),
            user_message=f"Xero had a problem ({status}); the sync will retry.",
        )
    return Permanent(f"Xero answered {status} to {action}", user_message=f"Xero refused to {action} (HTTP {status}).")


def _transport(error: urllib3.exceptions.HTTPError, action: str, write: bool) -> ConnectorError:
    never_sent = isinstance(error, urllib3.exceptions.ConnectTimeoutError | urllib3.exceptions.NewConnectionError)
    if write and not never_sent:
        return OutcomeUnknown(
            f"no answer from Xero to {action} ({type(error).__name__}); it may have been done",
            user_message="Xero did not answer in time; checking whether it was done before retrying.",
        )
    return Retryable(
        f"could not reach Xero to {action} ({type(error).__name__})",
        user_message="Xero could not be reached; the sync will retry.",
    )
