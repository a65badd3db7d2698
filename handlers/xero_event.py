"""A Xero INVOICE, CREDITNOTE or CONTACT event: re-read the resource from Xero and bring Dynamics in line.

The Xero webhook intake submits one coalesced job per (tenant, category, resource) with the payload
{tenant_id, category, resource_id, connection_id, event_type}; the reconciliation submits the same jobs for
invoices it finds changed. Events are thin (ids only), so each flow fetches the current state:

- `xero.invoice`    -> `handlers.xero_invoice_changed` (payments, status, amounts; then the contact's balances;
                        the invoice is read in one batch with the others waiting, see app.xero_invoice_batches)
- `xero.creditnote` -> `handlers.xero_credit_note_changed` (history on the invoices it is allocated to)
- `xero.contact`    -> `handlers.xero_contact_changed` (outstanding and overdue balances)

A worker connected to neither Dataverse nor Xero (see app.services) only records receipt of the event.
"""

from __future__ import annotations

import importlib
import logging
from typing import Any

from app.dispatch import JobContext
from app.errors import Ignored
from app.services import services_for
from handlers.xero_writeback import XeroEventContext, load_event_context

log = logging.getLogger(__name__)

FLOWS = {
    "xero.invoice": "handlers.xero_invoice_changed",
    "xero.creditnote": "handlers.xero_credit_note_changed",
    "xero.contact": "handlers.xero_contact_changed",
}
NOT_CONNECTED = "this worker is not connected to Dataverse and Xero: the event was only recorded"


def handle(ctx: JobContext) -> dict[str, Any]:
    resource_id = ctx.payload["resource_id"]
    receipt = {
        "handler": __name__,
        "kind": ctx.kind,
        "tenant_id": ctx.payload["tenant_id"],
        "resource_id": resource_id,
        "events": len(ctx.triggers),
    }
    services = services_for(ctx.redis)
    if services is None:
        log.warning("xero event received by a worker connected to neither Dataverse nor Xero", extra=receipt)
        return {**receipt, "skipped": NOT_CONNECTED}
    connection_id = ctx.payload.get("connection_id")
    if not connection_id:
        raise Ignored(f"xero event for tenant {ctx.payload['tenant_id']} names no connection")
    event: XeroEventContext = load_event_context(ctx, services, connection_id)
    flow = importlib.import_module(FLOWS[ctx.kind])
    return {**receipt, **flow.run(event, resource_id)}
