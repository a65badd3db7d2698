"""How the connector talks to Xero: app credentials, base URLs, scopes, token keys, limits and timeouts.

Read once from the environment with `XeroSettings.from_environ()`; every problem is reported at once as a
`ConfigError` (the same type `app.config` uses). Variables:

    XERO_CLIENT_ID, XERO_CLIENT_SECRET   the Xero app's credentials (required)
    TOKEN_ENCRYPTION_KEYS                comma-separated Fernet keys; the first encrypts (required)
    XERO_API_URL                         default https://api.xero.com (accounting lives under /api.xro/2.0)
    XERO_IDENTITY_URL                    default https://identity.xero.com (token and revocation endpoints)
    XERO_LOGIN_URL                       default https://login.xero.com (the consent page)
    XERO_SCOPES                          "granular" (default), "broad", or an explicit space/comma list
    XERO_CUSTOM_CONNECTION               "true" for a custom connection (client credentials, no refresh token)
    XERO_CONCURRENT_LIMIT                calls in flight per tenant, default 5
    XERO_MINUTE_LIMIT                    calls per minute per tenant, default 60
    XERO_DAY_LIMIT                       calls per day per tenant, default 5000 (1000 on Xero's Starter tier);
                                         one organisation's own budget is set on its connection row
    XERO_APP_MINUTE_LIMIT                calls per minute across all tenants, default 10000
    XERO_DAY_RESERVED_SHARE              share of the daily budget bulk sending leaves for payments-back and
                                         reconciliation, default 0.1 (0 to 0.9)
    XERO_LIMIT_WAIT_SECONDS              longest a worker waits for a tenant slot before retrying later, default 2
    XERO_LIMIT_TIME_SCALE                multiplies the limit windows (minute, day); only for a time-scaled
                                         sandbox Xero (`--time-scale`), default 1
    XERO_REQUEST_TIMEOUT_SECONDS         read timeout of one Xero call, default 30 (connect: at most 10)
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from app.clients.xero_limits import XeroLimits
from app.clients.xero_tokens import token_cipher
from app.config import ConfigError

# Apps created from March 2026 must ask for granular scopes; `accounting.invoices` covers credit notes and items.
GRANULAR_SCOPES = (
    "offline_access",
    "accounting.invoices",
    "accounting.payments.read",
    "accounting.contacts",
    "accounting.settings",
)
# Older apps keep the broad scopes until September 2027.
BROAD_SCOPES = ("offline_access", "accounting.transactions", "accounting.contacts", "accounting.settings")

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


@dataclass(frozen=True)
class XeroSettings:
    client_id: str
    client_secret: str = field(repr=False)
    token_encryption_keys: tuple[str, ...] = field(repr=False)
    api_url: str = "https://api.xero.com"
    identity_url: str = "https://identity.xero.com"
    login_url: str = "https://login.xero.com"
    scopes: tuple[str, ...] = GRANULAR_SCOPES
    custom_connection: bool = False
    limits: XeroLimits = field(default_factory=XeroLimits)
    limit_wait_seconds: float = 2.0
    request_timeout_seconds: float = 30.0

    @property
    def accounting_url(self) -> str:
        return f"{self.api_url}/api.xro/2.0"

    @property
    def token_url(self) -> str:
        return f"{self.identity_url}/connect/token"

    @property
    def revocation_url(self) -> str:
        return f"{self.identity_url}/connect/revocation"

    @property
    def authorize_url(self) -> str:
        return f"{self.login_url}/identity/connect/authorize"

    @property
    def request_timeout(self) -> tuple[float, float]:
        """(connect, read) for the SDK's `_request_timeout`: a bare float would be silently ignored by it."""
        return (min(10.0, self.request_timeout_seconds), self.request_timeout_seconds)

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> XeroSettings:
        env = os.environ if environ is None else environ
        problems: list[str] = []

        def text(name: str, default: str = "") -> str:
            return env.get(name, "").strip() or default

        def url(name: str, default: str) -> str:
            value = text(name, default).rstrip("/")
            if not value.startswith(("https://", "http://")):
                problems.append(f"{name}: must be an http(s) URL")
            return value

        def positive(name: str, default: float, kind: type[int] | type[float] = int) -> float:
            raw = text(name, str(default))
            try:
                value = kind(raw)
            except ValueError:
                value = 0
            if value <= 0:
                problems.append(f"{name}: must be a positive number")
                return default
            return value

        client_id, client_secret = text("XERO_CLIENT_ID"), text("XERO_CLIENT_SECRET")
        if not client_id:
            problems.append("XERO_CLIENT_ID is required: the Xero app's client id")
        if not client_secret:
            problems.append("XERO_CLIENT_SECRET is required: the Xero app's client secret")
        keys = tuple(k.strip() for k in text("TOKEN_ENCRYPTION_KEYS").split(",") if k.strip())
        try:
            token_cipher(keys)
        except (ValueError, TypeError):
            # The keys themselves are never echoed: they are secrets.
            problems.append("TOKEN_ENCRYPTION_KEYS is required: comma-separated Fernet keys (44 characters each)")
        custom = text("XERO_CUSTOM_CONNECTION").lower()
        if custom not in _TRUE | _FALSE:
            problems.append("XERO_CUSTOM_CONNECTION: must be true or false")
        time_scale = float(positive("XERO_LIMIT_TIME_SCALE", 1.0, float))
        settings = dict(
            api_url=url("XERO_API_URL", cls.api_url),
            identity_url=url("XERO_IDENTITY_URL", cls.identity_url),
            login_url=url("XERO_LOGIN_URL", cls.login_url),
            scopes=_scopes(text("XERO_SCOPES", "granular"), custom in _TRUE, problems),
            custom_connection=custom in _TRUE,
            limits=XeroLimits(
                minute_seconds=60.0 * time_scale,
                day_seconds=86400.0 * time_scale,
                concurrent=int(positive("XERO_CONCURRENT_LIMIT", 5)),
                per_minute=int(positive("XERO_MINUTE_LIMIT", 60)),
                per_day=int(positive("XERO_DAY_LIMIT", 5000)),
                app_per_minute=int(positive("XERO_APP_MINUTE_LIMIT", 10_000)),
                reserved_share=_share("XERO_DAY_RESERVED_SHARE", text("XERO_DAY_RESERVED_SHARE", "0.1"), problems),
            ),
            limit_wait_seconds=float(positive("XERO_LIMIT_WAIT_SECONDS", 2.0, float)),
            request_timeout_seconds=float(positive("XERO_REQUEST_TIMEOUT_SECONDS", 30.0, float)),
        )
        if problems:
            raise ConfigError(problems)
        return cls(client_id=client_id, client_secret=client_secret, token_encryption_keys=keys, **settings)


def _share(name: str, raw: str, problems: list[str]) -> float:
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0 <= value <= 0.9:
        problems.append(f"{name}: must be a number from 0 to 0.9")
        return 0.1
    return value


def _scopes(value: str, custom_connection: bool, problems: list[str]) -> tuple[str, ...]:
    named = {"granular": GRANULAR_SCOPES, "broad": BROAD_SCOPES}
    if value.lower() in named:
        return named[value.lower()]
    scopes = tuple(s for s in value.replace(",", " ").split() if s)
    # Without offline_access there is no refresh token; only a custom connection can live without one.
    if not scopes or ("offline_access" not in scopes and not custom_connection):
        problems.append("XERO_SCOPES: must be granular, broad, or a list including offline_access")
    return scopes
