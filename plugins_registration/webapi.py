"""A small Dataverse Web API client for the admin script: OData headers, bounded retries, one-line errors."""

from __future__ import annotations

import re
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from plugins_registration.auth import TokenProvider
from plugins_registration.errors import RegistrationError

API_PATH = "/api/data/v9.2/"
RETRY_STATUSES = (429, 502, 503, 504)
ENTITY_ID_PATTERN = re.compile(r"\(([0-9a-fA-F-]{36})\)\s*$")
PRIVILEGE_PATTERN = re.compile(r"\bprv[A-Za-z0-9_]+")

# Which role gives what the script needs: a missing privilege is reported with this hint.
ROLE_HINT = (
    "assign the System Administrator role (or System Customizer for provisioning) to the user or application user"
)


class BoundedRetry(Retry):
    """urllib3's retry, but a Retry-After from the server is honoured only up to a limit (service protection
    can ask for minutes; an admin at a terminal should get an answer instead)."""

    MAX_RETRY_AFTER_SECONDS = 30.0

    def parse_retry_after(self, retry_after: str) -> float:
        return min(super().parse_retry_after(retry_after), self.MAX_RETRY_AFTER_SECONDS)

    def is_retry(self, method: str, status_code: int, has_retry_after: bool = False) -> bool:
        # A create that met a gateway error may still have happened: repeating it could register a second
        # step. Only a throttled (429) create is known not to have run. Re-runs tidy up any duplicate.
        if method.upper() == "POST" and status_code != 429:
            return False
        return super().is_retry(method, status_code, has_retry_after)


def retry_policy(attempts: int = 4, backoff_factor: float = 0.5) -> Retry:
    # Reads, updates and deletes are retried on 429 and 502-504; creates only on 429 (see is_retry).
    return BoundedRetry(
        total=attempts,
        connect=0,
        read=0,
        status=attempts,
        allowed_methods=None,
        status_forcelist=RETRY_STATUSES,
        backoff_factor=backoff_factor,
        backoff_max=10,
        respect_retry_after_header=True,
        raise_on_status=False,
    )


class WebApi:
    """Calls `{org}/api/data/v9.2/...` with a fresh bearer token and turns failures into RegistrationError."""

    def __init__(
        self,
        org_url: str,
        token_provider: TokenProvider,
        session: requests.Session | None = None,
        timeout: tuple[float, float] = (10.0, 120.0),
        retry: Retry | None = None,
    ) -> None:
        self.org_url = org_url.rstrip("/")
        self.base_url = self.org_url + API_PATH
        self._token_provider = token_provider
        self._timeout = timeout
        self._session = session or requests.Session()
        adapter = HTTPAdapter(max_retries=retry if retry is not None else retry_policy())
        self._session.mount("http://", adapter)
        self._session.mount("https://", adapter)

    # -- verbs --------------------------------------------------------------------------------------------

    def get(self, path: str, params: dict[str, str] | None = None) -> dict[str, Any]:
        return self._json(self._request("GET", path, params=params))

    def get_optional(self, path: str, params: dict[str, str] | None = None) -> dict[str, Any] | None:
        """Like get, but None when the thing does not exist (404)."""
        response = self._request("GET", path, params=params, allow_missing=True)
        return None if response.status_code == 404 else self._json(response)

    def get_all(self, path: str, params: dict[str, str] | None = None) -> list[dict[str, Any]]:
        """Every row of a collection, following @odata.nextLink."""
        page = self.get(path, params)
        rows = list(page.get("value", []))
        while page.get("@odata.nextLink"):
            page = self._json(self._request("GET", page["@odata.nextLink"]))
            rows.extend(page.get("value", []))
        return rows

    def post(self, path: str, body: dict[str, Any], headers: dict[str, str] | None = None) -> str | None:
        """Creates or calls an action; returns the new row's id when Dataverse reports one."""
        response = self._request("POST", path, json=body, headers=headers)
        return _created_id(response)

    def patch(self, path: str, body: dict[str, Any]) -> None:
        # If-Match: * turns the PATCH into a pure update, so a stale id cannot silently create a row.
        self._request("PATCH", path, json=body, headers={"If-Match": "*"})

    def put(self, path: str, body: dict[str, Any]) -> None:
        self._request("PUT", path, json=body)

    def delete(self, path: str) -> None:
        self._request("DELETE", path, allow_missing=True)

    # -- plumbing -----------------------------------------------------------------------------------------

    def _request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        json: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        allow_missing: bool = False,
    ) -> requests.Response:
        url = path if path.startswith(("http://", "https://")) else self.base_url + path.lstrip("/")
        all_headers = {
            "Accept": "application/json",
            "OData-MaxVersion": "4.0",
            "OData-Version": "4.0",
            "Authorization": f"Bearer {self._token_provider()}",
            **(headers or {}),
        }
        if json is not None:
            all_headers["Content-Type"] = "application/json; charset=utf-8"
        try:
            response = self._session.request(
                method, url, params=params, json=json, headers=all_headers, timeout=self._timeout
            )
        except requests.exceptions.Timeout:
            raise RegistrationError(
                f"Dataverse at {self.org_url} did not answer in time ({method} {_shown(path)})"
            ) from None
        except requests.exceptions.RequestException as exc:
            raise RegistrationError(
                f"Cannot reach Dataverse at {self.org_url} ({_reason(exc)}): check DATAVERSE_URL and the network"
            ) from None
        if response.status_code == 404 and allow_missing:
            return response
        if response.status_code >= 400:
            raise self._error(method, path, response)
        return response

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

    def _error(self, method: str, path: str, response: requests.Response) -> RegistrationError:
        message = dataverse_message(response)
        status = response.status_code
        if status == 401:
            return RegistrationError(
                f"Dataverse at {self.org_url} rejected the credentials (401 Unauthorized): check DATAVERSE_TOKEN, "
                "or the app registration and its application user"
            )
        if status == 403:
            privilege = PRIVILEGE_PATTERN.search(message)
            missing = f"the {privilege.group(0)} privilege" if privilege else "a privilege"
            return RegistrationError(
                f"The Dataverse user lacks {missing} needed for {method} {_shown(path)} (403 Forbidden): {ROLE_HINT}"
            )
        if status in RETRY_STATUSES:
            return RegistrationError(
                f"Dataverse at {self.org_url} is busy or unavailable ({status}) after several attempts; try again later"
            )
        detail = f": {message}" if message else ""
        return RegistrationError(f"Dataverse answered {status} to {method} {_shown(path)}{detail}")


def dataverse_message(response: requests.Response) -> str:
    """The `error.message` of a Dataverse error body, first line only."""
    try:
        body = response.json()
    except ValueError:
        return response.text.strip().splitlines()[0][:300] if response.text.strip() else ""
    error = body.get("error") if isinstance(body, dict) else None
    message = error.get("message", "") if isinstance(error, dict) else ""
    return str(message).strip().splitlines()[0] if str(message).strip() else ""


def _created_id(response: requests.Response) -> str | None:
    """A create answers 204 with `OData-EntityId: .../entityset(<id>)`; actions answer without one."""
    found = ENTITY_ID_PATTERN.search(response.headers.get("OData-EntityId", ""))
    return found.group(1) if found else None


def _shown(path: str) -> str:
    """The path without its query: enough to know which call failed."""
    return path.split("?", 1)[0]


def _reason(exc: requests.exceptions.RequestException) -> str:
    if isinstance(exc, requests.exceptions.SSLError):
        return "TLS handshake failed"
    if isinstance(exc, requests.exceptions.ConnectionError):
        return "connection failed"
    return type(exc).__name__
