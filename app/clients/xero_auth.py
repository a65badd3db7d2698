"""Access tokens for one Xero connection: always from the `TokenStore`, refreshed only through it.

`XeroTokenSource.current()` is what the SDK's token getter returns (as `TokenSet.to_sdk()`): a token with more
than the store's refresh margin left. When the stored token is about to expire, `TokenStore.fresh` takes the
connection's Redis lock and calls `XeroTokenEndpoint.renew`, which

- with a refresh token: exchanges it (single use, rotates) — `invalid_grant` means the user must reconnect;
- without one (a custom connection, `XERO_CUSTOM_CONNECTION=true`): asks for a client-credentials token.
  Those live 30 minutes and Xero gives no refresh token, so a new one is fetched before they run out.

Connecting (the admin's consent): `authorization_url` -> Xero redirects back with a code -> `exchange_code` ->
`tenants` to pick the organisation -> `TokenStore.save(connection_id, tokens)`.

The token endpoint is called with `requests` (with a timeout) rather than the SDK's `TokenApi`, which has none and
reports every failure as a bare `Exception`.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import requests

from app import metrics
from app.clients.xero_errors import reconnect
from app.clients.xero_settings import XeroSettings
from app.clients.xero_tokens import TokenSet, TokenStore
from app.errors import ConnectionLost, Permanent, Retryable


class XeroTokenEndpoint:
    """Xero's identity token endpoint for this app."""

    def __init__(self, settings: XeroSettings, http: requests.Session | None = None) -> None:
        self.settings = settings
        self.http = http or requests.Session()

    def renew(self, current: TokenSet) -> TokenSet:
        """The `Refresher` for `TokenStore.fresh`: a new token set to replace `current`."""
        if current.refresh_token:
            return self.refresh(current.refresh_token)
        if self.settings.custom_connection:
            return self.client_credentials()
        raise ConnectionLost(
            "stored Xero token has no refresh token and this is not a custom connection",
            user_message="Reconnect Xero: the stored authorisation cannot be renewed.",
        )

    def authorization_url(self, redirect_uri: str, state: str) -> str:
        """Where an admin consents to the connection (the first step of connecting Xero)."""
        query = urlencode(
            {
                "response_type": "code",
                "client_id": self.settings.client_id,
                "redirect_uri": redirect_uri,
                "scope": " ".join(self.settings.scopes),
                "state": state,
            }
        )
        return f"{self.settings.authorize_url}?{query}"

    def exchange_code(self, code: str, redirect_uri: str) -> TokenSet:
        """The token set for the code Xero sent back to `redirect_uri`; save it with `TokenStore.save`."""
        return self._grant({"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri})

    def tenants(self, tokens: TokenSet) -> list[dict[str, Any]]:
        """The organisations this consent covers (`tenantId`, `tenantName`, …): store the chosen `tenantId`,
        never assume the first."""
        try:
            response = self.http.get(
                f"{self.settings.api_url}/connections",
                timeout=self.settings.request_timeout,
                headers={"Authorization": f"Bearer {tokens.access_token}", "Accept": "application/json"},
            )
        except requests.RequestException as exc:
            raise Retryable(f"Xero's connections list could not be reached ({type(exc).__name__})") from None
        if response.status_code in {401, 403}:
            raise reconnect(f"Xero answered {response.status_code} to the connections list")
        if response.status_code != 200:
            raise Retryable(f"Xero's connections list answered {response.status_code}")
        body = response.json()
        return body if isinstance(body, list) else []

    def refresh(self, refresh_token: str) -> TokenSet:
        return self._grant({"grant_type": "refresh_token", "refresh_token": refresh_token})

    def client_credentials(self) -> TokenSet:
        return self._grant({"grant_type": "client_credentials"})

    def _grant(self, form: dict[str, str]) -> TokenSet:
        settings = self.settings
        try:
            response = self.http.post(
                settings.token_url,
                data=form,
                auth=(settings.client_id, settings.client_secret),
                headers={"Accept": "application/json"},
                timeout=settings.request_timeout,
            )
        except requests.RequestException as exc:
            metrics.TOKEN_REFRESHES.labels(form["grant_type"], "unreachable").inc()
            raise Retryable(
                f"Xero's token endpoint could not be reached ({type(exc).__name__})",
                user_message="Xero's sign-in service could not be reached; the sync will retry.",
            ) from None
        body = _json(response)
        grant = form["grant_type"]
        error = str(body.get("error", ""))
        granted = response.status_code == 200 and bool(body.get("access_token"))
        metrics.TOKEN_REFRESHES.labels(grant, "ok" if granted else error or f"http_{response.status_code}").inc()
        if granted:
            return TokenSet.from_oauth_response(body)
        if error == "invalid_grant":
            raise reconnect(f"Xero refused the {grant} grant: invalid_grant")
        if response.status_code == 429 or response.status_code >= 500:
            retry_after = response.headers.get("Retry-After")
            raise Retryable(
                f"Xero's token endpoint answered {response.status_code}",
                retry_after=float(retry_after) if retry_after and retry_after.isdigit() else None,
                user_message="Xero's sign-in service is busy; the sync will retry.",
            )
        if error in {"invalid_client", "unauthorized_client"}:
            # Reconnecting would not help: the app's own credentials are wrong.
            raise Permanent(
                f"Xero refused the app's credentials ({error})",
                user_message="Xero refused the connector's app credentials; ask your administrator "
                "to check the Xero client id and secret.",
            )
        raise Permanent(
            f"Xero's token endpoint answered {response.status_code} {error}".strip(),
            user_message="Xero's sign-in service refused the connector's request.",
        )


class XeroTokenSource:
    """The current access token of one connection, shared by every worker through Redis."""

    def __init__(self, connection_id: str, store: TokenStore, endpoint: XeroTokenEndpoint) -> None:
        self.connection_id = connection_id
        self.store = store
        self.endpoint = endpoint

    def current(self) -> TokenSet:
        if self.endpoint.settings.custom_connection and self.store.load(self.connection_id) is None:
            # A custom connection needs no consent: its first token is simply asked for. Two workers doing this
            # at once both get valid tokens; the last one saved is used from then on.
            self.store.save(self.connection_id, self.endpoint.client_credentials())
        return self.store.fresh(self.connection_id, self.endpoint.renew)

    def sdk_token(self) -> dict[str, Any]:
        """For the SDK's `oauth2_token_getter`: exactly `TokenSet.to_sdk()`."""
        return self.current().to_sdk()

    def save_sdk_token(self, token: dict[str, Any]) -> None:
        """For the SDK's `oauth2_token_saver`. The SDK refreshes only a token within 60 s of expiry and
        `current()` never hands out one that close, so this is a safety net: whatever the SDK got is persisted."""
        self.store.save(self.connection_id, TokenSet.from_oauth_response(token))


def _json(response: requests.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
