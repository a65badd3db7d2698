"""Dataverse failures, classified once into the taxonomy of app/errors.py.

Every class here is a subclass of `Retryable` or `Permanent`, so `app.dispatch` needs to know nothing about
Dataverse; handlers that care can catch the narrower classes (a missing row, an edit conflict). Each carries
the HTTP `status`, Dataverse's error `code` and, inside a `$batch`, the `operation` that failed. Messages never
contain a token or a secret: they are built from the method, the path without its query, and Dataverse's own
error text.
"""

from __future__ import annotations

import json
import re
from typing import Any

import requests

from app.errors import ConnectorError, Permanent, Retryable

# Statuses that mean "not now": service protection (429) and the gateway (502-504).
TRANSIENT_STATUSES = frozenset({429, 502, 503, 504})
PRIVILEGE_PATTERN = re.compile(r"\bprv[A-Za-z0-9_]+")
_MAX_DETAIL = 500


class DataverseFailure:
    """What every Dataverse error knows besides its message (mixed into the taxonomy classes below)."""

    status: int | None = None
    code: str | None = None
    operation: str | None = None
    # The first line of Dataverse's own error message, for callers that word their own report.
    detail: str = ""

    def _describe(self, status: int | None, code: str | None, operation: str | None) -> None:
        self.status, self.code, self.operation = status, code, operation


class DataverseUnavailable(Retryable, DataverseFailure):
    """Throttled (429), a gateway error, a 5xx, a timeout or no connection, still so after the retry budget."""

    def __init__(
        self,
        message: str,
        *,
        retry_after: float | None = None,
        status: int | None = None,
        code: str | None = None,
        operation: str | None = None,
        outcome_unknown: bool = False,
    ) -> None:
        super().__init__(
            message,
            retry_after=retry_after,
            user_message="Dynamics 365 is busy or unavailable; the connector will try again shortly.",
        )
        self._describe(status, code, operation)
        # True when a write may have been applied before the answer was lost (no retry was made for it).
        self.outcome_unknown = outcome_unknown


class Conflict(Retryable, DataverseFailure):
    """412: the row changed since it was read (an ETag no longer matches), or a key is already taken."""

    def __init__(self, message: str, *, code: str | None = None, operation: str | None = None) -> None:
        super().__init__(
            message,
            retry_after=None,
            user_message="The record changed in Dynamics 365 while the connector was saving it; "
            "the connector will try again.",
        )
        self._describe(412, code, operation)


class DataverseRejected(Permanent, DataverseFailure):
    """400 and other client errors: Dataverse refused the request; its own message says why."""

    def __init__(
        self,
        message: str,
        *,
        dataverse_message: str = "",
        status: int | None = 400,
        code: str | None = None,
        operation: str | None = None,
    ) -> None:
        user = (
            f"Dynamics 365 refused the change: {dataverse_message}"
            if dataverse_message
            else "Dynamics 365 refused the change."
        )
        super().__init__(message, user_message=user)
        self.dataverse_message = dataverse_message
        self._describe(status, code, operation)


class AccessDenied(Permanent, DataverseFailure):
    """401 (the sign-in is not accepted) or 403 (the connector's user lacks a privilege)."""

    def __init__(
        self,
        message: str,
        *,
        user_message: str,
        status: int,
        privilege: str | None = None,
        code: str | None = None,
        operation: str | None = None,
    ) -> None:
        super().__init__(message, user_message=user_message)
        self.privilege = privilege
        self._describe(status, code, operation)


class RowNotFound(Permanent, DataverseFailure):
    """404: the row (or the entity set) does not exist, usually because someone deleted it."""

    def __init__(
        self,
        message: str,
        *,
        entity_set: str | None = None,
        row_id: str | None = None,
        code: str | None = None,
        operation: str | None = None,
    ) -> None:
        super().__init__(
            message, user_message="The record no longer exists in Dynamics 365 (it may have been deleted)."
        )
        self.entity_set, self.row_id = entity_set, row_id
        self._describe(404, code, operation)


class DataverseNotConfigured(Permanent):
    """The connector's Dataverse settings are missing or malformed; only an administrator can fix that."""

    def __init__(self, message: str) -> None:
        super().__init__(
            message,
            user_message="The connector is not set up to reach Dynamics 365; "
            "an administrator needs to complete its settings.",
        )


class SignInFailed(Permanent):
    """Microsoft sign-in (MSAL) refused the connector's application credentials."""

    def __init__(self, message: str) -> None:
        super().__init__(
            message,
            user_message="The connector could not sign in to Dynamics 365; an administrator "
            "needs to check its application registration and secret.",
        )


def dataverse_error_parts(body: bytes | str) -> tuple[str | None, str]:
    """(`error.code`, first line of `error.message`) from a Dataverse error body, tolerating non-JSON."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    try:
        parsed: Any = json.loads(text) if text.strip() else {}
    except ValueError:
        return None, _first_line(text)
    error = parsed.get("error") if isinstance(parsed, dict) else None
    if not isinstance(error, dict):
        return None, ""
    code = error.get("code")
    return (str(code) if code else None), _first_line(str(error.get("message") or ""))


def _first_line(text: str) -> str:
    stripped = text.strip()
    return stripped.splitlines()[0][:_MAX_DETAIL] if stripped else ""


def error_for_status(
    status: int,
    body: bytes | str,
    *,
    method: str,
    path: str,
    retry_after: float | None = None,
    entity_set: str | None = None,
    row_id: str | None = None,
    operation: str | None = None,
) -> ConnectorError:
    """The taxonomy error for a failed Dataverse answer. `path` must already be free of query strings."""
    code, detail = dataverse_error_parts(body)
    error = _classified(
        status,
        code,
        detail,
        method=method,
        path=path,
        retry_after=retry_after,
        entity_set=entity_set,
        row_id=row_id,
        operation=operation,
    )
    if isinstance(error, DataverseFailure):
        error.detail = detail
    return error


def _classified(
    status: int,
    code: str | None,
    detail: str,
    *,
    method: str,
    path: str,
    retry_after: float | None,
    entity_set: str | None,
    row_id: str | None,
    operation: str | None,
) -> ConnectorError:
    where = f"{method} {path}" if operation is None else f"{operation}"
    suffix = f": {detail}" if detail else ""
    if status == 401:
        return AccessDenied(
            f"Dataverse rejected the connector's credentials (401) for {where}; check DATAVERSE_TOKEN or the "
            "application registration and its application user",
            user_message="Dynamics 365 did not accept the connector's sign-in; an administrator needs to check "
            "the connector's Dynamics 365 credentials.",
            status=401,
            code=code,
            operation=operation,
        )
    if status == 403:
        found = PRIVILEGE_PATTERN.search(detail)
        privilege = found.group(0) if found else None
        named = f"the {privilege} privilege" if privilege else "a privilege"
        return AccessDenied(
            f"The connector's Dataverse user lacks {named} needed for {where} (403){suffix}",
            user_message=f"The connector's user in Dynamics 365 lacks {named}; an administrator needs to give it "
            "a security role that includes it.",
            status=403,
            privilege=privilege,
            code=code,
            operation=operation,
        )
    if status == 404:
        return RowNotFound(
            f"Not found in Dataverse (404) for {where}{suffix}",
            entity_set=entity_set,
            row_id=row_id,
            code=code,
            operation=operation,
        )
    if status == 412:
        return Conflict(f"Dataverse reported a conflict (412) for {where}{suffix}", code=code, operation=operation)
    if status in TRANSIENT_STATUSES or status >= 500:
        return DataverseUnavailable(
            f"Dataverse answered {status} to {where}{suffix}",
            retry_after=retry_after,
            status=status,
            code=code,
            operation=operation,
        )
    return DataverseRejected(
        f"Dataverse refused {where} ({status}){suffix}",
        dataverse_message=detail,
        status=status,
        code=code,
        operation=operation,
    )


def connection_problem(exc: requests.exceptions.RequestException) -> str:
    """A short reason for a transport failure, without the exception's text (which can echo URLs)."""
    if isinstance(exc, requests.exceptions.SSLError):
        return "TLS handshake failed"
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return "connection timed out"
    if isinstance(exc, requests.exceptions.Timeout):
        return "no answer in time"
    if isinstance(exc, requests.exceptions.ConnectionError):
        return "connection failed"
    return type(exc).__name__
