"""React to a connection row created, changed or deleted in Dynamics.

- Created or changed: apply the row's daily Xero call budget to its organisation. When the row names a Xero
  organisation that has not been imported for this connection yet (a new connection, or its tenant changed)
  and a token is stored, queue its reference-data import (coalesced per connection). Saving the row's settings
  again costs no Xero call: the nightly and on-demand imports keep the reference data current.
- Deleted: forget the connection's Xero organisation, so the Xero webhook intake ignores its events from now
  on. The row is gone, so its organisation is found through the intake's own tenant registry.
"""

from __future__ import annotations

import logging
from typing import Any

from app import xero_tenants
from app.connection_rows import ConnectionRowCache
from app.dispatch import JobContext
from app.reference_data import imported_tenant, submit_import
from app.services import services_for
from handlers.reference_data import has_token, read_connection

log = logging.getLogger(__name__)

SAME_ORGANISATION = (
    "reference data was already imported for this Xero organisation; it is refreshed nightly and on demand"
)


def handle(ctx: JobContext) -> dict[str, Any]:
    connection_id = str(ctx.payload["connection_id"]).lower()
    result: dict[str, Any] = {"handler": __name__, "connection_id": connection_id}
    ConnectionRowCache(ctx.redis).forget(connection_id)  # the next job reads the changed row
    if ctx.payload.get("deleted"):
        forgotten = _forget_tenants(ctx, connection_id)
        log.info("connection deleted", extra={"connection_id": connection_id, "tenants_forgotten": forgotten})
        return {**result, "tenants_forgotten": forgotten}
    services = services_for(ctx.redis)
    if services is None:
        log.info("connection change received; no services configured", extra={"connection_id": connection_id})
        return {**result, "import_job": None, "reason": "not connected to Dynamics and Xero"}
    connection = read_connection(services, connection_id)  # Ignored when gone or without an organisation
    services.xero.limiter.set_day_budget(connection.tenant_id, connection.daily_call_limit)
    if not has_token(services, connection_id):
        return {**result, "import_job": None, "reason": "no Xero token is stored for this connection yet"}
    if imported_tenant(ctx.redis, connection_id) == connection.tenant_id.lower():
        return {**result, "import_job": None, "reason": SAME_ORGANISATION, "tenant_id": connection.tenant_id}
    queued = submit_import(
        ctx.jobs, connection_id, trigger={"kind": ctx.kind, "job_id": ctx.job_id}, tenant_id=connection.tenant_id
    )
    log.info(
        "reference data import queued",
        extra={"connection_id": connection_id, "job_id": queued.job_id, "tenant_id": connection.tenant_id},
    )
    return {**result, "import_job": queued.job_id, "tenant_id": connection.tenant_id}


def _forget_tenants(ctx: JobContext, connection_id: str) -> list[str]:
    registered = ctx.redis.hgetall(xero_tenants.KEY)
    tenants = [tenant.decode() for tenant, owner in registered.items() if owner.decode().lower() == connection_id]
    for tenant_id in tenants:
        xero_tenants.forget_tenant(ctx.redis, tenant_id)
    return tenants
