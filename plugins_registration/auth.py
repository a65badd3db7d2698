"""Which org to talk to and how to sign in, read from the same settings as the connector itself.

The token sources are the connector's (app/clients/dataverse_auth.py: a fixed DATAVERSE_TOKEN, or MSAL client
credentials); here their failures become the script's one-line errors.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from app.clients.dataverse import StaticTokenSource, dataverse_client_from_env
from app.clients.dataverse import normalise_org_url as client_org_url
from app.errors import ConnectorError
from plugins_registration.errors import RegistrationError, UsageError

TokenProvider = Callable[[], str]


@dataclass(frozen=True)
class Connection:
    """What the environment says about the org to talk to and how to sign in (secrets stay in here)."""

    org_url: str
    token_provider: TokenProvider


def normalise_org_url(raw: str) -> str:
    """`https://org.crm.dynamics.com/` or `.../api/data/v9.2` -> `https://org.crm.dynamics.com`."""
    try:
        return client_org_url(raw)
    except ConnectorError as exc:
        raise UsageError(str(exc)) from None


def static_token(token: str) -> TokenProvider:
    """A fixed bearer token (the sandbox, scripts and tests)."""
    return StaticTokenSource(token)


def reporting_sign_in_failures(source: TokenProvider) -> TokenProvider:
    """The token source, with Microsoft refusing or not answering reported as a RegistrationError."""

    def acquire() -> str:
        try:
            return source()
        except ConnectorError as exc:
            raise RegistrationError(str(exc)) from None

    return acquire


def connection_from_environment(env: Mapping[str, str]) -> Connection:
    """DATAVERSE_URL plus DATAVERSE_TOKEN, or DATAVERSE_TENANT_ID, DATAVERSE_CLIENT_ID and DATAVERSE_CLIENT_SECRET."""
    try:
        # Only its validated settings are kept: the script makes its own client (see webapi.WebApi).
        with dataverse_client_from_env(env) as client:
            return Connection(client.org_url, reporting_sign_in_failures(client.token_source))
    except ConnectorError as exc:
        raise UsageError(str(exc)) from None
