"""An invoice changed in Xero (a payment arrives this way): its status and amounts into the Dynamics invoice
that carries its id, Paid when fully paid, a history row for what a finance user should know, and the
contact's balances. Invoices created directly in Xero have no Dynamics invoice and are left alone.
"""

from __future__ import annotations

import logging
from typing import Any

from app.xero_echoes import own_write_echo
from app.xero_invoice_batches import read_invoice
from handlers.xero_writeback import (
    XeroEventContext,
    invoice_lock,
    linked_invoices,
    queue_balance_refresh,
    reread_invoice,
    write_invoice,
)
from mappers import xero_documents as docs
from mappers.xero_documents import XeroDocument
from mappers.xero_to_dynamics import invoice_writeback

log = logging.getLogger(__name__)


BALANCE_STATUSES = {"AUTHORISED", "PAID", "VOIDED"}  # the states that count in a contact's balances


def run(event: XeroEventContext, resource_id: str) -> dict[str, Any]:
    echo = own_write_echo(event.ctx.redis, event.xero.tenant_id, resource_id, event.ctx.triggers)
    if echo is not None:
        # Our own write, already written back to Dynamics by the sync that made it: no Xero call.
        log.info("xero echo of the connector's own write", extra={"xero_invoice_id": resource_id})
        outcome: dict[str, Any] = {"result": "own_write", "fetched_from": "own_write"}
        if echo.contact_id and echo.status in BALANCE_STATUSES:
            outcome.update(queue_balance_refresh(event, echo.contact_id))
        return outcome
    # Read together with the other invoices waiting for their jobs, or taken from such a read when it is
    # recent enough for this job's events (app.xero_invoice_batches).
    read = read_invoice(event.ctx.redis, event.xero, resource_id, event.ctx.triggers)
    fetched = {"fetched_from": read.source, "batch_size": read.batch_size}
    if read.invoice is None:
        log.info("xero invoice not found in Xero", extra={"xero_invoice_id": resource_id})
        return {"result": "not_in_xero", **fetched}
    document = read.invoice
    outcome = {**apply_to_dynamics(event, document), **fetched}
    contact_id = getattr(document.contact, "contact_id", None)
    if contact_id:
        outcome.update(queue_balance_refresh(event, str(contact_id)))
    return outcome


def apply_to_dynamics(event: XeroEventContext, document: XeroDocument) -> dict[str, Any]:
    """Write one Xero document's state into the Dynamics invoice(s) linked to it."""
    xero_id = str(docs.document_id(document))
    linked = linked_invoices(event.dataverse, [xero_id])
    if not linked:
        # Created directly in Xero (or not yet linked by its first sync, which writes the same values).
        log.info("xero document has no Dynamics invoice: left alone", extra={"xero_invoice_id": xero_id})
        return {"result": "not_in_dynamics", "xero_status": docs.status_of(document)}
    results = []
    for invoice in linked:
        with invoice_lock(event, invoice.id):
            current = reread_invoice(event.dataverse, invoice.id)  # the state under the lock is what counts
            if current is None:
                continue
            plan = invoice_writeback(current, document)
            if not plan.changed:
                log.info("nothing changed since the last write-back", extra={"invoice_id": current.id})
                results.append("unchanged")
            else:
                write_invoice(event, current, plan, xero_id)
                results.append("paid" if plan.state_patch is not None else "closed" if plan.closed else "updated")
    return {
        "result": results[0] if len(results) == 1 else results,
        "invoice_ids": [i.id for i in linked],
        "xero_status": docs.status_of(document),
    }
