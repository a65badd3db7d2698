"""The two identity calls disconnecting needs and `XeroTokenEndpoint` lacks: remove a connection, revoke a grant.

- `DELETE {api}/connections/{id}` removes one organisation from the consent (the id is the connection's `id` in
  the `GET /connections` list, not the tenant id);
- `POST {identity}/connect/revocation` (RFC 7009, client authenticated) revokes the refresh token and with it the
  whole consent.

Failures are classified like the rest of the Xero client: unreachable or 5xx -> `Retryable`; a token Xero no
longer accepts -> `ConnectionLost` (nothing is left to revoke).
"""

from __future__ import annotations

from typing import Any

import requests

from app.clients.xero_errors import reconnect
from app.clients.xero_settings import XeroSettings
from app.clients.xero_tokens import TokenSet
from app.errors import Permanent, Retryable


class XeroIdentityCalls:
    def __init__(self, settings: XeroSettings, http: requests.Session | None = None) -> None:
        self.settings = settings
        self.http = http or requests.Session()

    def xero_connection_id(self, connections: list[dict[str, Any]], tenant_id: str) -> str | None:
        """The connection id of `tenant_id` in a `GET /connections` answer."""
        wanted = tenant_id.lower()
        return next(
            (str(c["id"]) for c in connections if str(c.get("tenantId", "")).lower() == wanted and c.get("id")), None
        )

    def delete_connection(self, tokens: TokenSet, xero_connection_id: str) -> None:
        response = self._send(
            "DELETE",
            f"{self.settings.api_url}/connections/{xero_connection_id}",
            "remove the connection",
            headers={"Authorization": f"Bearer {tokens.access_token}"},
        )
        if response.status_code in {401, 403}:
            raise reconnect(f"Xero answered {response.status_code} to removing the connection")
        if response.status_code not in {200, 204, 404}:  # 404: already gone, which is what we wanted
            raise _failure(response, "remove the connection")

    def revoke(self, refresh_token: str) -> None:
        settings = self.settings
        response = self._send(
            "POST",
            settings.revocation_url,
            "revoke the authorisation",
            data={"token": refresh_token},
            auth=(settings.client_id, settings.client_secret),
        )
        if response.status_code != 200:
            raise _failure(response, "revoke the authorisation")

    def _send(self, method: str, url: str, action: str, **kwargs: Any) -> requests.Response:
        try:
            return self.http.request(
                method,
                url,
                timeout=self.settings.request_timeout,
                headers={"Accept": "application/json", **kwargs.pop("headers", {})},
                **kwargs,
            )
        except requests.RequestException as exc:
            raise Retryable(f"Xero could not be reached to {action} ({type(exc).__name__})") from None


def _failure(response: requests.Response, action: str) -> Exception:
    if response.status_code == 429 or response.status_code >= 500:
        return Retryable(f"Xero answered {response.status_code} when asked to {action}")
    return Permanent(f"Xero refused to {action} ({response.status_code})")
