"""Settings of one sandbox Xero server; every default is documented in README.md."""

from __future__ import annotations

from dataclasses import dataclass, field

DEFAULT_CLIENT_ID = "SANDBOXCLIENTID0000000000000001"
DEFAULT_CLIENT_SECRET = "sandbox-client-secret"
CUSTOM_CLIENT_ID = "SANDBOXCUSTOMCONNECTION00000001"
CUSTOM_CLIENT_SECRET = "sandbox-custom-secret"
DEFAULT_WEBHOOK_KEY = "sandbox-webhook-key"
DEFAULT_ADMIN_TOKEN = "sandbox-admin"


@dataclass
class Limits:
    """Xero's published per-tenant limits, plus the app-wide minute limit."""

    concurrent: int = 5
    per_minute: int = 60
    per_day: int = 5000
    app_per_minute: int = 10_000


@dataclass
class Settings:
    host: str = "127.0.0.1"
    port: int = 0
    # Multiplies every duration (token lifetimes, rate windows, idempotency window, grace periods):
    # 0.1 makes a rate-limit "minute" last 6 real seconds.
    time_scale: float = 1.0
    admin_token: str = DEFAULT_ADMIN_TOKEN
    client_id: str = DEFAULT_CLIENT_ID
    client_secret: str = DEFAULT_CLIENT_SECRET
    custom_client_id: str = CUSTOM_CLIENT_ID
    custom_client_secret: str = CUSTOM_CLIENT_SECRET
    # Exact redirect URIs the default client accepts; loopback URIs are always accepted for local demos.
    redirect_uris: list[str] = field(default_factory=list)
    webhook_key: str = DEFAULT_WEBHOOK_KEY
    webhook_url: str | None = None
    access_log: bool = True  # one line per request on stderr when served from the command line
    # Events raised within this many real seconds travel in one POST.
    webhook_batch_seconds: float = 0.2
    webhook_max_attempts: int = 3
    webhook_retry_seconds: float = 0.2
    limits: Limits = field(default_factory=Limits)
    provider_name: str = "Sandbox Connector"
    # Seeds the pseudo-random choices (fault injection, intent-to-receive order) so runs repeat.
    random_seed: int = 1
