"""How the connector talks to Xero: app credentials, base URLs, scopes, token keys, limits and timeouts.

Built from the one configuration (`app.config.Settings`, where every XERO_* variable and TOKEN_ENCRYPTION_KEYS
is declared with its default and help) by `XeroSettings.from_settings`; `from_environ` reads and validates an
environment first. Every problem is reported at once as a `ConfigError`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from app.clients.xero_limits import XeroLimits
from app.config import ConfigError, Settings, load_settings, xero_problems, xero_scope_list

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
    def from_settings(cls, settings: Settings) -> XeroSettings:
        """The Xero part of the one configuration; ConfigError when what Xero needs is missing."""
        problems = xero_problems(settings)
        if problems:
            raise ConfigError(problems)
        named = {"granular": GRANULAR_SCOPES, "broad": BROAD_SCOPES}
        explicit = xero_scope_list(settings.xero_scopes, settings.xero_custom_connection)
        return cls(
            client_id=settings.xero_client_id,
            client_secret=settings.xero_client_secret,
            token_encryption_keys=settings.token_encryption_keys,
            api_url=settings.xero_api_url,
            identity_url=settings.xero_identity_url,
            login_url=settings.xero_login_url,
            scopes=explicit or named[settings.xero_scopes.lower()],
            custom_connection=settings.xero_custom_connection,
            limits=XeroLimits(
                concurrent=settings.xero_concurrent_limit,
                per_minute=settings.xero_minute_limit,
                per_day=settings.xero_day_limit,
                app_per_minute=settings.xero_app_minute_limit,
                reserved_share=settings.xero_day_reserved_share,
                minute_seconds=60.0 * settings.xero_limit_time_scale,
                day_seconds=86400.0 * settings.xero_limit_time_scale,
            ),
            limit_wait_seconds=settings.xero_limit_wait_seconds,
            request_timeout_seconds=settings.xero_request_timeout_seconds,
        )

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> XeroSettings:
        """`from_settings` for an environment (scripts, tests): every problem at once as ConfigError."""
        return cls.from_settings(load_settings(environ, role="xero"))
