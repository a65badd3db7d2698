"""The safety net for lost webhooks, run periodically (`reconcile`, see app.schedule):

- Dynamics, once per organisation: invoices and lines created, edited, cancelled or deleted since the last pass,
  read with Dataverse change tracking (`handlers.dynamics_changes`), get the jobs their lost webhooks would have
  queued, whatever their export status. Where change tracking is not enabled (provision not re-run), the older
  net is used: invoices waiting for a sync (export status No or Ready to update) modified since the checkpoint.
- per Xero connection: invoices, credit notes and contacts Xero changed since the checkpoint (less an overlap)
  get the coalesced `xero.invoice` / `xero.creditnote` / `xero.contact` job a webhook would have queued, so a
  payment is seen even when Xero's webhooks are down;
- per Xero connection: invoices whose delivery day has come (in the connection's time zone) and that are still
  waiting for a sync get their `invoice.sync`, so a future-dated invoice is sent on its day even if Redis lost
  the job scheduled for it.

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
from app.clients.dataverse_errors import DataverseRejected
from app.clients.xero import MAX_LOOKUP_PAGES, PAGE_SIZE, XeroGateway
from app.dispatch import JobContext
from app.dynamics_schema import ConnectionStatus
from app.errors import ConnectorError, Retryable
from app.queue import QUEUE_DATAVERSE, QUEUE_XERO, invoice_scope, xero_resource_scope
from app.reconciliation import advance_checkpoint, load_checkpoint
from app.services import Services, services_for
from app.webhooks.xero import CATEGORY_KINDS
from app.xero_invoice_batches import RECEIVED_AT, note_waiting, redis_now
from handlers.dynamics_changes import recover_dynamics_changes
from handlers.xero_writeback import organisation_id
from mappers.dynamics import ConnectionSettings, connection_query
from mappers.eligibility import local_date
from mappers.xero_to_dynamics import (
    ReconcileWindow,
    due_invoices_filter,
    reconcile_window,
    unsynced_invoices_filter,
)

log = logging.getLogger(__name__)

NOT_CONFIGURED = "this worker is not connected to Dataverse and Xero: nothing to reconcile"


def handle(ctx: JobContext) -> dict[str, Any]:
    receipt = {"handler": __name__, "kind": ctx.kind}
    services = services_for(ctx.redis)
    if services is None:
        return {**receipt, "skipped": NOT_CONFIGURED}
    now = datetime.now(UTC)
    dynamics = reconcile_dynamics(ctx, services, now)
    passes = []
    for connection in connections_to_reconcile(services):
        try:
            passes.append(
                reconcile_connection(ctx, services, connection, now, unsynced_net=dynamics.get("tracking") is False)
            )
        except ConnectorError as exc:
            # One organisation's trouble (say, Xero needs reconnecting) must not hold up the others.
            log.warning("reconciliation pass failed", extra={"connection_id": connection.id, "error": str(exc)})
            passes.append({"connection_id": connection.id, "error": exc.user_message})
    return {**receipt, "dynamics": dynamics, "connections": passes}


def reconcile_dynamics(ctx: JobContext, services: Services, now: datetime) -> dict[str, Any]:
    """The organisation's Dynamics changes through change tracking; `tracking: False` when it is unavailable."""
    organization_id = organisation_id(services.dataverse)
    checkpoint_id = f"dataverse:{organization_id}"
    window = reconcile_window(
        load_checkpoint(ctx.redis, checkpoint_id),
        now,
        interval_seconds=ctx.settings.reconcile_interval_seconds,
        overlap_seconds=ctx.settings.reconcile_overlap_seconds,
    )
    try:
        found = recover_dynamics_changes(ctx, services, organization_id, window.since)
    except DataverseRejected as exc:
        log.warning(
            "change tracking unavailable (run plugins_registration provision); using the export-status net",
            extra={"error": str(exc)},
        )
        return {"tracking": False, "error": exc.dataverse_message or str(exc)}
    except ConnectorError as exc:
        # Dataverse unreachable: the Xero side still runs; the same delta links are followed next pass.
        log.warning("dynamics changes not read this pass", extra={"error": str(exc)})
        return {"error": exc.user_message}
    advance_checkpoint(ctx.redis, checkpoint_id, window.until)
    log.info("dynamics changes recovered", extra=found)
    return {"tracking": True, **found}


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
    ctx: JobContext, services: Services, connection: ConnectionSettings, now: datetime, *, unsynced_net: bool = False
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
    other_xero_jobs = _queue_changed_xero_documents(ctx, xero, connection, window)
    dynamics_jobs = _queue_due_dynamics_invoices(ctx, services, connection, now)
    if unsynced_net:
        dynamics_jobs += _queue_unsynced_dynamics_invoices(ctx, services, connection, window)
    advance_checkpoint(ctx.redis, connection.id, window.until)
    log.info(
        "reconciliation pass done",
        extra={
            "connection_id": connection.id,
            "since": window.since.isoformat(),
            "xero_invoices": xero_jobs,
            "xero_others": other_xero_jobs,
            "dynamics_invoices": dynamics_jobs,
        },
    )
    return {
        "connection_id": connection.id,
        "since": window.since.isoformat(),
        "until": window.until.isoformat(),
        "xero_invoices": xero_jobs,
        "xero_credit_notes": other_xero_jobs["CREDITNOTE"],
        "xero_contacts": other_xero_jobs["CONTACT"],
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


def _queue_changed_xero_documents(
    ctx: JobContext, xero: XeroGateway, connection: ConnectionSettings, window: ReconcileWindow
) -> dict[str, int]:
    """Credit notes and contacts Xero changed since the window: the jobs their lost webhooks would have queued."""
    tenant_id = xero.tenant_id.lower()
    found = {
        "CREDITNOTE": [str(note.credit_note_id).lower() for note in xero.credit_notes_modified_since(window.since)],
        "CONTACT": [str(contact.contact_id).lower() for contact in xero.contacts_modified_since(window.since)],
    }
    for category, ids in found.items():
        for resource_id in ids:
            payload = {
                "tenant_id": tenant_id,
                "category": category,
                "resource_id": resource_id,
                "connection_id": connection.id,
                "event_type": "RECONCILE",
            }
            ctx.jobs.submit_coalesced(
                QUEUE_XERO,
                CATEGORY_KINDS[category],
                payload,
                scope=xero_resource_scope(tenant_id, category, resource_id),
                trigger={**payload, "reconciliation_since": window.since.isoformat()},
            )
    if any(not _read_is_complete(len(ids)) for ids in found.values()):
        raise TooManyChanges(
            "more credit notes or contacts changed in Xero than one pass reads",
            user_message="Too many Xero changes for one reconciliation pass; the next pass "
            "continues from the same point.",
        )
    return {category: len(ids) for category, ids in found.items()}


def _queue_due_dynamics_invoices(
    ctx: JobContext, services: Services, connection: ConnectionSettings, now: datetime
) -> int:
    """Invoices of this connection delivered today or yesterday (its time zone) still waiting for a sync: their
    day has come. Normally the job scheduled for the day runs them; this finds them when Redis lost that job.
    Joining a job still waiting for the day only brings it forward, and the sync checks the date again."""
    today = local_date(now, connection)
    found = services.dataverse.query("invoices", select=["invoiceid"], filter=due_invoices_filter(connection.id, today))
    if not found:
        return 0
    organization_id = organisation_id(services.dataverse)
    for row in found:
        invoice_id = str(row["invoiceid"]).lower()
        ctx.jobs.submit_coalesced(
            QUEUE_DATAVERSE,
            "invoice.sync",
            {"organization_id": organization_id, "invoice_id": invoice_id},
            scope=invoice_scope(organization_id, invoice_id),
            trigger={"delivery_day": today.isoformat()},
        )
    return len(found)


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
