"""Where the bearer token comes from: a fixed token from the environment, or MSAL client credentials."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

import msal
import requests

from plugins_registration.errors import RegistrationError, UsageError

TokenProvider = Callable[[], str]
AUTHORITY_BASE = "https://login.microsoftonline.com"


@dataclass(frozen=True)
class Connection:
    """What the environment says about the org to talk to and how to sign in (secrets stay in here)."""

    org_url: str
    token_provider: TokenProvider


def normalise_org_url(raw: str) -> str:
    """`https://org.crm.dynamics.com/` or `.../api/data/v9.2` -> `https://org.crm.dynamics.com`."""
    url = raw.strip().rstrip("/")
    if "/api/data" in url:
        url = url.split("/api/data", 1)[0]
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise UsageError(f"DATAVERSE_URL must be the organisation's address, like https://org.crm.dynamics.com "
                         f"(got {raw!r})")
    return url


def static_token(token: str) -> TokenProvider:
    return lambda: token


def msal_token(org_url: str, tenant_id: str, client_id: str, client_secret: str) -> TokenProvider:
    """Client-credentials sign-in; msal keeps the token in its own cache and renews it when it expires."""
    authority = f"{AUTHORITY_BASE}/{tenant_id}"
    scopes = [f"{org_url}/.default"]
    application: msal.ConfidentialClientApplication | None = None

    def acquire() -> str:
        nonlocal application
        try:
            if application is None:
                application = msal.ConfidentialClientApplication(
                    client_id, authority=authority, client_credential=client_secret
                )
            result = application.acquire_token_for_client(scopes=scopes)
        except requests.exceptions.RequestException as exc:
            raise RegistrationError(f"Cannot reach Microsoft sign-in at {authority} ({type(exc).__name__})") from None
        except ValueError as exc:  # msal rejects a malformed tenant or authority this way
            reason = _first_line(str(exc))
            raise RegistrationError(f"Microsoft sign-in rejected the tenant {tenant_id!r}: {reason}") from None
        if not result or "access_token" not in result:
            error = (result or {}).get("error", "unknown_error")
            description = _first_line((result or {}).get("error_description", ""))
            raise RegistrationError(
                f"Microsoft sign-in failed for client {client_id} in tenant {tenant_id}: {error}: {description} "
                "(check DATAVERSE_TENANT_ID, DATAVERSE_CLIENT_ID and DATAVERSE_CLIENT_SECRET)"
            )
        return str(result["access_token"])

    return acquire


def _first_line(text: str) -> str:
    """Microsoft's error descriptions run to several lines of trace ids; the first says what went wrong."""
    return text.strip().splitlines()[0] if text.strip() else ""


def connection_from_environment(env: Mapping[str, str]) -> Connection:
    raw_url = env.get("DATAVERSE_URL", "").strip()
    if not raw_url:
        raise UsageError("DATAVERSE_URL is not set (the organisation's address, like https://org.crm.dynamics.com)")
    org_url = normalise_org_url(raw_url)
    token = env.get("DATAVERSE_TOKEN", "").strip()
    if token:
        return Connection(org_url, static_token(token))
    names = ("DATAVERSE_TENANT_ID", "DATAVERSE_CLIENT_ID", "DATAVERSE_CLIENT_SECRET")
    values = [env.get(name, "").strip() for name in names]
    missing = [name for name, value in zip(names, values, strict=True) if not value]
    if missing:
        raise UsageError(
            "Set DATAVERSE_TOKEN, or all of DATAVERSE_TENANT_ID, DATAVERSE_CLIENT_ID and DATAVERSE_CLIENT_SECRET "
            f"(missing: {', '.join(missing)})"
        )
    tenant_id, client_id, client_secret = values
    return Connection(org_url, msal_token(org_url, tenant_id, client_id, client_secret))
