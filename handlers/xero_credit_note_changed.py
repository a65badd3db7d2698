"""A credit note changed in Xero: a history row on each Dynamics invoice it is allocated to (once per change
of what it tells), its own status and amounts when it came from a Dynamics credit note, and the balances.

What each invoice was last told is remembered in Redis, so repeated events stay quiet.
"""

from __future__ import annotations

import logging
from typing import Any

from app.dynamics_schema import SyncAction, SyncStatus
from app.xero_echoes import own_write_echo
from handlers.xero_invoice_changed import BALANCE_STATUSES, apply_to_dynamics
from handlers.xero_writeback import XeroEventContext, history_operation, linked_invoices, queue_balance_refresh
from mappers import xero_documents as docs
from mappers.xero_to_dynamics import CENT, HistoryNote, credit_allocations, credit_note_details

log = logging.getLogger(__name__)

TOLD_TTL_SECONDS = 90 * 24 * 3600


def told_key(tenant_id: str, credit_note_id: str) -> str:
    return f"connector:xero:creditnote-told:{tenant_id.lower()}:{credit_note_id.lower()}"


def run(event: XeroEventContext, resource_id: str) -> dict[str, Any]:
    echo = own_write_echo(event.ctx.redis, event.xero.tenant_id, resource_id, event.ctx.triggers)
    if echo is not None:
        # Our own write, already recorded in Dynamics by the flow that made it: no Xero call.
        log.info("xero echo of the connector's own credit note write", extra={"credit_note_id": resource_id})
        outcome: dict[str, Any] = {"result": "own_write"}
        if echo.contact_id and echo.status in BALANCE_STATUSES:
            outcome.update(queue_balance_refresh(event, echo.contact_id))
        return outcome
    note = event.xero.get_credit_note(resource_id)
    note_id = str(docs.document_id(note))
    own = apply_to_dynamics(event, note)  # a credit note the connector created from a Dynamics credit note
    allocations = credit_allocations(note)
    told = _tell_invoices(event, note, note_id, allocations)
    outcome: dict[str, Any] = {
        "result": "credit_note",
        "credit_note": own["result"],
        "allocations": len(allocations),
        "history_rows": told,
    }
    contact_id = getattr(note.contact, "contact_id", None)
    if contact_id:
        outcome.update(queue_balance_refresh(event, str(contact_id)))
    return outcome


def _tell_invoices(event: XeroEventContext, note: Any, note_id: str, allocations: list[Any]) -> int:
    if not allocations:
        return 0
    key = told_key(event.xero.tenant_id, note_id)
    status = docs.status_of(note)
    wanted = {a.invoice_xero_id: f"{status}:{a.amount.quantize(CENT)}" for a in allocations}
    already = {k.decode(): v.decode() for k, v in event.ctx.redis.hgetall(key).items()}
    changed = {xero_id: told for xero_id, told in wanted.items() if already.get(xero_id) != told}
    if not changed:
        log.info("credit note already told to its invoices", extra={"credit_note_id": note_id})
        return 0
    amounts = {a.invoice_xero_id: a.amount for a in allocations}
    operations = []
    for invoice in linked_invoices(event.dataverse, list(changed)):
        xero_id = (invoice.xero_invoice_id or "").lower()
        note_row = HistoryNote(
            SyncAction.CREDIT_NOTE, SyncStatus.SUCCESS, credit_note_details(note, amounts.get(xero_id))
        )
        operations.append(history_operation(event, invoice.id, note_row, invoice.xero_invoice_id))
    if operations:
        event.dataverse.batch(operations)
    # Remembered after the rows are written: a crash in between repeats a row rather than losing it.
    event.ctx.redis.hset(key, mapping=changed)
    event.ctx.redis.expire(key, TOLD_TTL_SECONDS)
    return len(operations)
