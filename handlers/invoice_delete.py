"""Cancel the Xero counterpart of an invoice deleted in Dynamics, from the Delete's pre-image.

The row is gone, so the pre-image (Xero id, connection, type, number) is the only source; Redis's record
covers an invoice deleted before its first write-back reached Dynamics. The cancellation rules are the same
as for a Canceled invoice (`handlers.cancellation_flow`). The Sync History row cannot point at a deleted
invoice, so it names the invoice in its text and keeps the Xero id and the connection.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from app import dynamics_schema as schema
from app.clients.xero import XeroValidationError
from app.dispatch import JobContext
from app.dynamics_schema import InvoiceType, SyncAction, SyncStatus
from app.errors import ConnectionLost, ConnectorError, Ignored, Permanent, Retryable
from app.services import services_for
from handlers.cancellation_flow import cancel_in_xero
from handlers.dynamics_outcomes import Outcome, reconnect_patch, write_outcome
from handlers.dynamics_state import load_connection
from handlers.invoice_sync import NOT_CONFIGURED
from handlers.xero_io import get_document
from mappers import xero_documents as docs
from mappers.dynamics import XERO_TYPE_BY_INVOICE_TYPE
from mappers.eligibility import local_date
from mappers.writeback import failure_details

log = logging.getLogger(__name__)


def _reference_id(value: Any) -> str | None:
    """A lookup from the pre-image: an EntityRef, or its plain forms once serialised."""
    if value is None:
        return None
    value = value.get("id") if isinstance(value, Mapping) else getattr(value, "id", value)
    return str(value) if value else None


def _is_credit_note(pre_image: Mapping[str, Any]) -> bool:
    raw = pre_image.get(schema.INVOICE_INVOICE_TYPE)
    try:
        invoice_type = InvoiceType(int(raw)) if raw is not None else InvoiceType.SALES_INVOICE
    except (TypeError, ValueError):
        invoice_type = InvoiceType.SALES_INVOICE
    return XERO_TYPE_BY_INVOICE_TYPE[invoice_type].is_credit_note


def handle(ctx: JobContext) -> dict[str, Any]:
    organization_id = ctx.payload["organization_id"]
    invoice_id = ctx.payload["invoice_id"]
    pre_image: Mapping[str, Any] = ctx.payload.get("pre_image") or {}
    receipt = {"handler": __name__, "invoice_id": invoice_id, "pre_image_columns": sorted(pre_image)}
    services = services_for(ctx.redis)
    if services is None:
        log.warning("invoice delete received without Dataverse or Xero configured", extra={"invoice_id": invoice_id})
        return {**receipt, "skipped": NOT_CONFIGURED}

    records = services.records
    xero_id = pre_image.get(schema.INVOICE_XERO_INVOICE_ID) or records.document(organization_id, invoice_id).xero_id
    connection_id = _reference_id(pre_image.get(schema.INVOICE_CONNECTION))
    if not xero_id:
        raise Ignored("the deleted invoice was never sent to Xero")
    if not connection_id:
        raise Ignored("the deleted invoice has a Xero id but no connection in its pre-image")
    connection = load_connection(services.dataverse, connection_id, services.connection_rows)
    if connection is None or not connection.xero_tenant_id:
        raise Ignored(f"the deleted invoice's Xero connection {connection_id} no longer exists")

    number = pre_image.get(schema.INVOICE_XERO_NUMBER) or pre_image.get("invoicenumber") or invoice_id
    told = f"Dynamics invoice {number} (id {invoice_id}) was deleted."
    now = datetime.now(UTC)

    def write(action: SyncAction, status: SyncStatus, details: str, patches: list | None = None) -> None:
        write_outcome(
            services.dataverse,
            Outcome(
                invoice_id=None,
                connection=connection,
                action=action,
                status=status,
                details=f"{told} {details}",
                xero_invoice_id=str(xero_id),
                patches=patches or [],
            ),
            now,
        )

    try:
        xero = services.xero.get(connection.id, connection.xero_tenant_id)
        existing = get_document(xero, str(xero_id), credit_note=_is_credit_note(pre_image))
        result = cancel_in_xero(
            xero,
            records,
            organization_id,
            invoice_id,
            existing,
            create_credit_note=connection.create_credit_note,
            today=local_date(now, connection),
        )
    except (Permanent, ConnectionLost) as exc:
        _write_failure(write, exc, connection.id)
        raise
    except Retryable as exc:
        if ctx.attempt >= ctx.settings.retry_max_attempts:
            _write_failure(write, exc, None)
        raise
    decision = result.decision
    write(decision.history_action, decision.history_status, decision.details)
    records.forget_document(organization_id, invoice_id)
    return {
        **receipt,
        "result": f"cancel:{decision.action.value}",
        "xero_status": docs.status_of(result.document) if result.document is not None else None,
    }


def _write_failure(write: Any, error: ConnectorError, reconnect_connection_id: str | None) -> None:
    if isinstance(error, XeroValidationError):
        details = failure_details("Cancelling it in Xero failed.", list(error.messages))
    else:
        details = error.user_message
    patches = (
        [reconnect_patch(reconnect_connection_id, error.user_message)]
        if isinstance(error, ConnectionLost) and reconnect_connection_id
        else []
    )
    try:
        write(SyncAction.DELETE, SyncStatus.FAILED, details, patches)
    except ConnectorError:
        log.exception("could not write the failure back to Dynamics")
