"""Writing Xero's real status and amounts onto an invoice Dynamics has closed (Canceled or Paid).

Dynamics makes a paid or cancelled invoice read-only: a change is refused until the invoice is reactivated.
So, when a cancellation in Xero ends (the draft deleted, the invoice voided or credited), or a closed invoice
changes in Xero later (finance credits it, a payment is removed), the invoice is reactivated, the Xero columns
written, and the invoice closed again in the state and status reason it had, each step alone, as the platform
asks. The connector's own writes are ignored by the intake (loop guard), so
this raises no sync. The three calls go through the Dataverse client, which retries passing faults; closing
again is attempted even when the write failed.
"""

from __future__ import annotations

import logging

from app.clients.dataverse import DataverseClient
from app.errors import ConnectorError
from mappers.dynamics import InvoiceState
from mappers.writeback import RowPatch

log = logging.getLogger(__name__)

STATUS_NEW = 1  # Dynamics' status reason "New" of an active invoice
DEFAULT_STATUS_REASON = {InvoiceState.CANCELED: 100003, InvoiceState.PAID: 100001}  # Canceled, Complete


def write_on_closed_invoice(
    dataverse: DataverseClient, state: InvoiceState, status_reason: int | None, patch: RowPatch
) -> None:
    """`patch` onto the invoice, which is in `state` with `status_reason` (an active one is simply updated)."""
    if state is InvoiceState.ACTIVE:
        dataverse.update(patch.entity_set, patch.row_id, patch.body)
        return
    closed = {"statecode": int(state), "statuscode": status_reason or DEFAULT_STATUS_REASON.get(state)}
    dataverse.update(patch.entity_set, patch.row_id, {"statecode": int(InvoiceState.ACTIVE), "statuscode": STATUS_NEW})
    try:
        dataverse.update(patch.entity_set, patch.row_id, patch.body)
    finally:
        dataverse.update(patch.entity_set, patch.row_id, closed)
    log.info("xero status written on a closed invoice", extra={"invoice_id": patch.row_id})


def show_on_closed_invoice(
    dataverse: DataverseClient, state: InvoiceState, status_reason: int | None, patch: RowPatch
) -> str:
    """Like `write_on_closed_invoice`, for a step whose own work is already done (a cancellation carried out in
    Xero): a refusal is not the job's failure. Returns "" or a sentence for the history row saying what failed."""
    try:
        write_on_closed_invoice(dataverse, state, status_reason, patch)
    except ConnectorError as exc:
        log.error("xero status not written on the closed invoice", extra={"invoice_id": patch.row_id})
        return f" Xero's final status could not be shown on the invoice: {exc.user_message}"
    return ""
