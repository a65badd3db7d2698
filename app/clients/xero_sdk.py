"""One `xero-python` ApiClient per connection, built around the SDK's known pitfalls.

- `Configuration` is a pseudo-singleton: constructor arguments after the first call are ignored and the first
  call's token object is shared. So it is created empty and given this connection's own `OAuth2Token`.
- The token getter returns exactly `TokenSet.to_sdk()` from the shared `TokenStore`; the saver persists there.
- The identity URLs are class attributes of `TokenApi` (one per process): `point_token_api_at` sets them from
  the settings; the connector's own refreshes use the same URLs (`XeroSettings.token_url`).
- urllib3's default `Retry(3)` would silently re-send a PUT after a dropped connection and sleep through
  429/503: it is turned off, so every fault reaches `xero_errors.classify` and is decided once.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from xero_python.accounting import AccountingApi
from xero_python.api_client import ApiClient, Configuration
from xero_python.api_client.oauth2 import OAuth2Token, TokenApi

from app.clients.xero_auth import XeroTokenSource
from app.clients.xero_settings import XeroSettings


def point_token_api_at(settings: XeroSettings) -> None:
    """Class-level in the SDK: every client in this process shares them, so they come from one settings."""
    TokenApi.refresh_token_url = settings.token_url
    TokenApi.client_credentials_token_url = settings.token_url
    TokenApi.revoke_token_url = settings.revocation_url


# The HTTP method and URL (without its query, which the SDK passes apart) of the newest request made in this
# context: the SDK's methods do not say which endpoint they call, and the invoice timeline shows it.
_last_request: ContextVar[tuple[str, str] | None] = ContextVar("xero_last_request", default=None)


class _RequestNamingApiClient(ApiClient):
    def call_api(self, resource_path: str, method: str, *args: Any, **kwargs: Any) -> Any:
        _last_request.set((method, resource_path))
        return super().call_api(resource_path, method, *args, **kwargs)


def forget_last_request() -> None:
    _last_request.set(None)


def last_request() -> tuple[str, str] | None:
    return _last_request.get()


@dataclass(frozen=True)
class XeroSdk:
    api_client: ApiClient
    accounting: AccountingApi


def build_sdk(settings: XeroSettings, tokens: XeroTokenSource) -> XeroSdk:
    point_token_api_at(settings)
    configuration = Configuration()
    # Never the shared default's token: each connection gets its own object.
    configuration.oauth2_token = OAuth2Token(client_id=settings.client_id, client_secret=settings.client_secret)
    api_client = _RequestNamingApiClient(
        configuration, oauth2_token_getter=tokens.sdk_token, oauth2_token_saver=tokens.save_sdk_token
    )
    api_client.rest_client.pool_manager.connection_pool_kw["retries"] = False
    return XeroSdk(api_client=api_client, accounting=AccountingApi(api_client, base_url=settings.accounting_url))
