"""The safety net for lost webhooks, run periodically (`reconcile`, see app.schedule): per Xero connection,

- Xero invoices modified since the checkpoint (less an overlap) get the same coalesced `xero.invoice` job a
  webhook would have queued, so a payment is seen even when Xero's webhooks are down;
- Dynamics invoices of that connection waiting for a sync (export status No or Ready to update) and modified
  since then get the coalesced `invoice.sync` job their Dataverse webhook would have queued.

Both sides only queue work; the jobs re-read the current state, so finding an invoice that was already
handled costs a comparison and writes nothing. The checkpoint (app.reconciliation) moves to the pass's
start only after the pass succeeded; a failed connection is looked at again, from the same point, next time.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from app import dynamics_schema as schema
from app import metrics
from app.clients.xero import MAX_LOOKUP_PAGES, PAGE_SIZE, XeroGateway
from app.dispatch import JobContext
from app.dynamics_schema import ConnectionStatus
from app.errors import ConnectorError, Retryable
from app.queue import QUEUE_DATAVERSE, QUEUE_XERO, invoice_scope, xero_resource_scope
from app.reconciliation import advance_checkpoint, load_checkpoint
from app.services import Services, services_for
from app.xero_invoice_batches import RECEIVED_AT, note_waiting, redis_now
from handlers.xero_writeback import organisation_id
from mappers.dynamics import ConnectionSettings, connection_query
from mappers.xero_to_dynamics import ReconcileWindow, reconcile_window, unsynced_invoices_filter

log = logging.getLogger(__name__)

NOT_CONFIGURED = "this worker is not connected to Dataverse and Xero: nothing to reconcile"


def handle(ctx: JobContext) -> dict[str, Any]:
    receipt = {"handler": __name__, "kind": ctx.kind}
    services = services_for(ctx.redis)
    if services is None:
        return {**receipt, "skipped": NOT_CONFIGURED}
    passes = []
    for connection in connections_to_reconcile(services):
        try:
            passes.append(reconcile_connection(ctx, services, connection, datetime.now(UTC)))
        except ConnectorError as exc:
            # One organisation's trouble (say, Xero needs reconnecting) must not hold up the others.
            log.warning("reconciliation pass failed", extra={"connection_id": connection.id, "error": str(exc)})
            passes.append({"connection_id": connection.id, "error": exc.user_message})
    return {**receipt, "connections": passes}


def connections_to_reconcile(services: Services) -> list[ConnectionSettings]:
    select = connection_query()["$select"]
    found = services.dataverse.query(
        schema.CONNECTION_ENTITY_SET,
        select=select,
        filter=f"{schema.CONNECTION_STATUS} eq {int(ConnectionStatus.CONNECTED)} "
        f"and {schema.CONNECTION_XERO_TENANT_ID} ne null",
    )
    return [ConnectionSettings.from_row(row) for row in found]


def reconcile_connection(
    ctx: JobContext, services: Services, connection: ConnectionSettings, now: datetime
) -> dict[str, Any]:
    assert connection.xero_tenant_id is not None  # selected for having one
    window = reconcile_window(
        load_checkpoint(ctx.redis, connection.id),
        now,
        interval_seconds=ctx.settings.reconcile_interval_seconds,
        overlap_seconds=ctx.settings.reconcile_overlap_seconds,
    )
    xero = services.xero.get(connection.id, connection.xero_tenant_id, essential=True)
    xero_jobs = _queue_changed_xero_invoices(ctx, xero, connection, window)
    dynamics_jobs = _queue_unsynced_dynamics_invoices(ctx, services, connection, window)
    advance_checkpoint(ctx.redis, connection.id, window.until)
    log.info(
        "reconciliation pass done",
        extra={
            "connection_id": connection.id,
            "since": window.since.isoformat(),
            "xero_invoices": xero_jobs,
            "dynamics_invoices": dynamics_jobs,
        },
    )
    return {
        "connection_id": connection.id,
        "since": window.since.isoformat(),
        "until": window.until.isoformat(),
        "xero_invoices": xero_jobs,
        "dynamics_invoices": dynamics_jobs,
    }


class TooManyChanges(Retryable):
    """More invoices changed than one pass reads: the checkpoint must not move past the ones left unread."""


def changed_xero_invoice_ids(xero: XeroGateway, since: datetime) -> list[str]:
    """Ids of the invoices Xero changed since `since` (If-Modified-Since, page by page)."""
    return [str(invoice.invoice_id).lower() for invoice in xero.invoices_modified_since(since) if invoice.invoice_id]


def _read_is_complete(count: int) -> bool:
    # The gateway stops after MAX_LOOKUP_PAGES full pages; a read that filled them all may have more behind it.
    return count < MAX_LOOKUP_PAGES * PAGE_SIZE


def _queue_changed_xero_invoices(
    ctx: JobContext, xero: XeroGateway, connection: ConnectionSettings, window: ReconcileWindow
) -> int:
    tenant_id = xero.tenant_id.lower()
    ids = changed_xero_invoice_ids(xero, window.since)
    complete = _read_is_complete(len(ids))
    # Stamped after the read that found the changes, so a batch read started later is known to include them.
    received_at = redis_now(ctx.redis)
    note_waiting(ctx.redis, tenant_id, ids)
    for invoice_id in ids:
        payload = {
            "tenant_id": tenant_id,
            "category": "INVOICE",
            "resource_id": invoice_id,
            "connection_id": connection.id,
            "event_type": "RECONCILE",
        }
        queued = ctx.jobs.submit_coalesced(
            QUEUE_XERO,
            "xero.invoice",
            payload,
            scope=xero_resource_scope(tenant_id, "INVOICE", invoice_id),
            trigger={**payload, "reconciliation_since": window.since.isoformat(), RECEIVED_AT: received_at},
        )
        metrics.reconciliation_queued("xero", queued.status)
    if not complete:
        # What was read is queued; the rest is read again next pass, from the same checkpoint.
        raise TooManyChanges(
            f"more than {len(ids)} invoices changed in Xero since {window.since.isoformat()}",
            user_message="Too many Xero changes for one reconciliation pass; the next pass "
            "continues from the same point.",
        )
    return len(ids)


def _queue_unsynced_dynamics_invoices(
    ctx: JobContext, services: Services, connection: ConnectionSettings, window: ReconcileWindow
) -> int:
    found = services.dataverse.query(
        "invoices", select=["invoiceid"], filter=unsynced_invoices_filter(connection.id, window.since)
    )
    if not found:
        return 0
    organization_id = organisation_id(services.dataverse, ctx.redis)
    for row in found:
        invoice_id = str(row["invoiceid"]).lower()
        queued = ctx.jobs.submit_coalesced(
            QUEUE_DATAVERSE,
            "invoice.sync",
            {"organization_id": organization_id, "invoice_id": invoice_id},
            scope=invoice_scope(organization_id, invoice_id),
            trigger={"reconciliation_since": window.since.isoformat()},
        )
        metrics.reconciliation_queued("dynamics", queued.status)
    return len(found)
