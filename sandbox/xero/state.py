"""Everything one sandbox server remembers, behind one lock for the books."""

from __future__ import annotations

import threading
from dataclasses import replace
from typing import Any

from sandbox.xero import seed
from sandbox.xero.clock import Clock
from sandbox.xero.faults import Faults
from sandbox.xero.idempotency import IdempotencyStore
from sandbox.xero.identity import Client, IdentityStore
from sandbox.xero.limits import RateLimiter
from sandbox.xero.settings import Settings
from sandbox.xero.tenant import Tenant
from sandbox.xero.transaction import Event
from sandbox.xero.webhooks import WebhookDispatcher, event_time


class SandboxState:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.clock = Clock(settings.time_scale)
        # Re-entrant: a write holds it across idempotency lookup, the change and the stored answer.
        self.lock = threading.RLock()
        self.tenants: dict[str, Tenant] = seed.seed_tenants()
        self.identity = IdentityStore(self.clock, self._clients())
        self._initial_limits = replace(settings.limits)
        self.limiter = RateLimiter(self.clock, settings.limits)
        self.idempotency = IdempotencyStore(self.clock)
        self.faults = Faults(settings.random_seed)
        self.webhooks = WebhookDispatcher(
            settings.webhook_key,
            settings.webhook_batch_seconds,
            settings.webhook_max_attempts,
            settings.webhook_retry_seconds,
            settings.random_seed,
        )
        self.base_url = f"http://{settings.host}:{settings.port}"

    def _clients(self) -> list[Client]:
        s = self.settings
        return [
            Client(s.client_id, s.client_secret, s.provider_name, redirect_uris=list(s.redirect_uris)),
            Client(
                s.custom_client_id,
                s.custom_client_secret,
                f"{s.provider_name} (custom connection)",
                custom_tenant_ids=[seed.TENANT_A_ID],
            ),
        ]

    def reset(self) -> None:
        """Back to the seed: books, tokens, limits, idempotency keys, faults, clock and webhook log."""
        with self.lock:
            self.tenants = seed.seed_tenants()
            self.identity = IdentityStore(self.clock, self._clients())
            self.settings.limits = replace(self._initial_limits)
            self.limiter.limits = self.settings.limits
            self.limiter.reset()
            self.idempotency.reset()
            self.faults.reset()
            self.clock.reset()
            self.webhooks.reset(self.settings.webhook_key)

    def publish(self, events: list[Event]) -> None:
        """Turn committed changes into webhook events (call while holding the lock, after the commit)."""
        now = event_time(self.clock.utcnow())
        payloads: list[dict[str, Any]] = []
        for event in events:
            path = {"INVOICE": "Invoices", "CONTACT": "Contacts", "CREDITNOTE": "CreditNotes"}[event.category]
            body: dict[str, Any] = {
                "resourceUrl": f"{self.base_url}/api.xro/2.0/{path}/{event.resource_id}",
                "resourceId": event.resource_id,
                "eventDateUtc": now,
                "eventType": event.event_type,
                "eventCategory": event.category,
                "tenantId": event.tenant_id,
                "tenantType": "ORGANISATION",
            }
            if event.category == "CREDITNOTE":
                note = self.tenants[event.tenant_id].credit_notes[event.resource_id]
                body["data"] = {"Type": note["Type"], "Status": note["Status"]}
            payloads.append(body)
        self.webhooks.publish(payloads)
