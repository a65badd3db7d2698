"""Knobs of the sandbox; the defaults suit tests (fast retries) and local runs alike."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class DataverseSandboxSettings:
    organization_name: str = "sandbox"
    # Host named in x-ms-dynamics-organization and in OData-EntityId links' environment.
    organization_host: str = "sandbox.crm.dynamics.com"
    # Service protection: requests allowed per user per window; None = unlimited (settable at runtime).
    request_budget: int | None = None
    budget_window_seconds: float = 300.0
    retry_after_seconds: int = 5
    # Webhook delivery: Dataverse waits 60 s and retries once on 502/503/504.
    webhook_timeout_seconds: float = 60.0
    webhook_retry_delay_seconds: float = 0.2
    # Dataverse trims contexts above 256 KB.
    webhook_size_limit_bytes: int = 256 * 1024
    # Default and maximum page size when no odata.maxpagesize is asked for.
    max_page_size: int = 5000
    seed: bool = True
