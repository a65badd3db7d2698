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

from dataclasses import dataclass

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


@dataclass(frozen=True)
class XeroSdk:
    api_client: ApiClient
    accounting: AccountingApi


def build_sdk(settings: XeroSettings, tokens: XeroTokenSource) -> XeroSdk:
    point_token_api_at(settings)
    configuration = Configuration()
    # Never the shared default's token: each connection gets its own object.
    configuration.oauth2_token = OAuth2Token(client_id=settings.client_id, client_secret=settings.client_secret)
    api_client = ApiClient(
        configuration, oauth2_token_getter=tokens.sdk_token, oauth2_token_saver=tokens.save_sdk_token
    )
    api_client.rest_client.pool_manager.connection_pool_kw["retries"] = False
    return XeroSdk(api_client=api_client, accounting=AccountingApi(api_client, base_url=settings.accounting_url))
