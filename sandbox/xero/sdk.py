"""Point the official xero-python SDK at a sandbox: token URLs, base URLs and a token kept in memory.

`Configuration` in the SDK is a pseudo-singleton (later constructor arguments are ignored), so each client
gets an empty one with its own `OAuth2Token` assigned afterwards.

The SDK's urllib3 pool keeps urllib3's default `Retry(3)`: for GET/PUT/DELETE it silently sleeps for
`Retry-After` on 429/503 and re-sends after a dropped connection. `connect(..., urllib3_retries=False)`
(the default here) turns that off so callers see what Xero answered.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from xero_python.accounting import AccountingApi
from xero_python.api_client import ApiClient, Configuration
from xero_python.api_client.oauth2 import OAuth2Token, TokenApi
from xero_python.identity import IdentityApi

SDK_TOKEN_KEYS = ("access_token", "scope", "expires_in", "token_type", "expires_at", "refresh_token", "id_token")


def point_token_api_at(base_url: str) -> None:
    """The SDK keeps its identity URLs as class attributes: one process talks to one identity server."""
    TokenApi.refresh_token_url = f"{base_url}/connect/token"
    TokenApi.client_credentials_token_url = f"{base_url}/connect/token"
    TokenApi.revoke_token_url = f"{base_url}/connect/revocation"


def sdk_token(response: dict[str, Any], now: float | None = None) -> dict[str, Any]:
    """A token endpoint answer in the exact shape the SDK's token getter must return."""
    token = {k: v for k, v in response.items() if k in SDK_TOKEN_KEYS}
    if isinstance(token.get("scope"), str):
        token["scope"] = token["scope"].split()
    if "expires_at" not in token and token.get("expires_in"):
        token["expires_at"] = (now or time.time()) + float(token["expires_in"])
    return token


@dataclass
class SdkClient:
    api_client: ApiClient
    accounting: AccountingApi
    identity: IdentityApi
    tenant_id: str
    holder: dict[str, Any]
    saved_tokens: list[dict[str, Any]] = field(default_factory=list)

    @property
    def token(self) -> dict[str, Any]:
        """The current token set (replaced whenever the SDK refreshes it)."""
        return self.holder["token"]  # type: ignore[no-any-return]


def connect(
    base_url: str,
    token_response: dict[str, Any],
    tenant_id: str,
    client_id: str,
    client_secret: str,
    urllib3_retries: bool = False,
) -> SdkClient:
    point_token_api_at(base_url)
    configuration = Configuration()
    configuration.oauth2_token = OAuth2Token(client_id=client_id, client_secret=client_secret)
    holder: dict[str, Any] = {"token": sdk_token(token_response)}
    saved: list[dict[str, Any]] = []

    def get_token() -> dict[str, Any]:
        return holder["token"]

    def save_token(token: dict[str, Any]) -> None:
        holder["token"] = sdk_token(token)
        saved.append(holder["token"])

    api_client = ApiClient(configuration, oauth2_token_getter=get_token, oauth2_token_saver=save_token)
    if not urllib3_retries:
        api_client.rest_client.pool_manager.connection_pool_kw["retries"] = False
    client = SdkClient(
        api_client=api_client,
        accounting=AccountingApi(api_client, base_url=f"{base_url}/api.xro/2.0"),
        identity=IdentityApi(api_client, base_url=base_url),
        tenant_id=tenant_id,
        holder=holder,
        saved_tokens=saved,
    )
    return client
