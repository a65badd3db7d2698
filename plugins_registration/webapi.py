"""The admin script's view of the connector's DataverseClient: same calls, failures as one-line RegistrationError.

Headers, tokens and retries are the client's (app/clients/dataverse.py). What is the script's own: a retry
policy for a person at a terminal, and wording that tells an administrator what to do next.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

import requests

from app.clients.dataverse import AccessDenied, DataverseClient, DataverseUnavailable, RetryPolicy, RowNotFound
from app.clients.dataverse_batch import BatchOperation
from app.clients.dataverse_errors import TRANSIENT_STATUSES, DataverseFailure, connection_problem
from app.errors import ConnectorError
from plugins_registration.errors import RegistrationError

ENTITY_ID_PATTERN = re.compile(r"\(([0-9a-fA-F-]{36})\)\s*$")

# Which role gives what the script needs: a missing privilege is reported with this hint.
ROLE_HINT = (
    "assign the System Administrator role (or System Customizer for provisioning) to the user or application user"
)

# Service protection can ask for minutes; an admin at a terminal gets "try again later" after at most 30 s of
# waiting instead. 429 is retried for every call, gateway errors only for calls that are safe to repeat.
ADMIN_RETRY = RetryPolicy(budget_seconds=30.0, max_attempts=5, backoff_base_seconds=0.5, backoff_max_seconds=10.0)
# Metadata changes (a new table) can take Dataverse well over a minute to answer.
ADMIN_TIMEOUT = (10.0, 120.0)


class WebApi:
    """Calls `{org}/api/data/v9.2/...` through DataverseClient and turns failures into RegistrationError."""

    def __init__(
        self,
        org_url: str,
        token_provider: Callable[[], str],
        session: requests.Session | None = None,
        timeout: tuple[float, float] = ADMIN_TIMEOUT,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        try:
            self.client = DataverseClient(
                org_url, token_provider, session, timeout=timeout, retry=retry or ADMIN_RETRY, sleep=sleep
            )
        except ConnectorError as exc:
            raise RegistrationError(str(exc)) from None
        self.org_url = self.client.org_url
        self.base_url = self.client.api_url

    # -- verbs --------------------------------------------------------------------------------------------

    def get(self, path: str, params: dict[str, str] | None = None) -> dict[str, Any]:
        return self._json(self._request("GET", path, params=params))

    def get_optional(self, path: str, params: dict[str, str] | None = None) -> dict[str, Any] | None:
        """Like get, but None when the thing does not exist (404)."""
        response = self._request("GET", path, params=params, allow_missing=True)
        return None if response is None else self._json(response)

    def get_all(self, path: str, params: dict[str, str] | None = None) -> list[dict[str, Any]]:
        """Every row of a collection, following @odata.nextLink."""
        page = self.get(path, params)
        rows = list(page.get("value", []))
        while page.get("@odata.nextLink"):
            page = self.get(page["@odata.nextLink"])
            rows.extend(page.get("value", []))
        return rows

    def post(self, path: str, body: dict[str, Any], headers: dict[str, str] | None = None) -> str | None:
        """Creates or calls an action; returns the new row's id when Dataverse reports one.

        The client repeats a POST only after a 429 (Dataverse ran nothing): after a gateway error the create
        may have happened, and a re-run of the command tidies up any duplicate instead.
        """
        response = self._request("POST", path, json_body=body, headers=headers)
        return _created_id(response)

    def call(self, action: str, body: dict[str, Any]) -> dict[str, Any]:
        """Calls an action that answers with a body (e.g. ImportSolutionAsync) and returns that body."""
        return self._json(self._request("POST", action, json_body=body))

    def batch(self, operations: list[BatchOperation]) -> None:
        """Runs writes in one `$batch` change set: all of them or none."""
        try:
            self.client.batch(operations, atomic=True)
        except ConnectorError as exc:
            raise self._error("POST", "$batch", exc) from None

    def patch(self, path: str, body: dict[str, Any]) -> None:
        # If-Match: * turns the PATCH into a pure update, so a stale id cannot silently create a row.
        self._request("PATCH", path, json_body=body, headers={"If-Match": "*"})

    def put(self, path: str, body: dict[str, Any]) -> None:
        self._request("PUT", path, json_body=body)

    def delete(self, path: str) -> None:
        self._request("DELETE", path, allow_missing=True)

    # -- plumbing -----------------------------------------------------------------------------------------

    def _request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        json_body: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        allow_missing: bool = False,
    ) -> Any:
        try:
            return self.client.request(method, path, params=params, json_body=json_body, headers=headers)
        except RowNotFound as exc:
            if allow_missing:
                return None
            raise self._error(method, path, exc) from None
        except ConnectorError as exc:
            raise self._error(method, path, exc) from None

    def _json(self, response: requests.Response) -> dict[str, Any]:
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise RegistrationError(
                f"{self.org_url} did not answer like Dataverse (no JSON from {_shown(response.request.path_url)}): "
                "check DATAVERSE_URL"
            )
        return body

    def _error(self, method: str, path: str, error: ConnectorError) -> RegistrationError:
        shown = _shown(path)
        status = error.status if isinstance(error, DataverseFailure) else None
        if isinstance(error, AccessDenied) and status == 401:
            return RegistrationError(
                f"Dataverse at {self.org_url} rejected the credentials (401 Unauthorized): check DATAVERSE_TOKEN, "
                "or the app registration and its application user"
            )
        if isinstance(error, AccessDenied) and status == 403:
            missing = f"the {error.privilege} privilege" if error.privilege else "a privilege"
            return RegistrationError(
                f"The Dataverse user lacks {missing} needed for {method} {shown} (403 Forbidden): {ROLE_HINT}"
            )
        if isinstance(error, DataverseUnavailable) and status is None:
            return self._transport_error(method, shown, error)
        if isinstance(error, DataverseUnavailable) and status in TRANSIENT_STATUSES:
            if error.outcome_unknown:
                return RegistrationError(
                    f"Dataverse at {self.org_url} is busy or unavailable ({status}) and {method} {shown} may or "
                    "may not have been applied; run the command again (it tidies up duplicates)"
                )
            return RegistrationError(
                f"Dataverse at {self.org_url} is busy or unavailable ({status}) after several attempts; try again later"
            )
        if status is not None:
            detail = f": {error.detail}" if isinstance(error, DataverseFailure) and error.detail else ""
            return RegistrationError(f"Dataverse answered {status} to {method} {shown}{detail}")
        return RegistrationError(str(error))

    def _transport_error(self, method: str, shown: str, error: DataverseUnavailable) -> RegistrationError:
        # The client raises `from None`, which keeps the transport exception as the context: it says what failed.
        cause = error.__context__
        if isinstance(cause, requests.exceptions.Timeout) and not isinstance(cause, requests.exceptions.ConnectTimeout):
            return RegistrationError(f"Dataverse at {self.org_url} did not answer in time ({method} {shown})")
        reason = connection_problem(cause) if isinstance(cause, requests.exceptions.RequestException) else str(error)
        return RegistrationError(
            f"Cannot reach Dataverse at {self.org_url} ({reason}): check DATAVERSE_URL and the network"
        )


def _created_id(response: requests.Response) -> str | None:
    """A create answers 204 with `OData-EntityId: .../entityset(<id>)`; actions answer without one."""
    found = ENTITY_ID_PATTERN.search(response.headers.get("OData-EntityId", ""))
    return found.group(1) if found else None


def _shown(path: str) -> str:
    """The path without its query: enough to know which call failed."""
    return path.split("?", 1)[0]
