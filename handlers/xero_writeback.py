"""What the Xero -> Dynamics flows share: the event's connection and gateway, the Dynamics rows that carry a
Xero id, the per-invoice lock, and the writes (compared first, so nothing is written twice).

Every write here is made by the connector's own Dataverse user; the Dataverse intake's loop guard
(`CONNECTOR_USER_ID`) ignores the webhooks they cause, and the columns written (Xero status, amounts,
balances) are left out of the webhook steps' filtering columns anyway.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

from redis import Redis

from app.clients.dataverse import BatchOperation, DataverseClient
from app.clients.xero import XeroGateway
from app.dispatch import JobContext
from app.errors import Ignored, Retryable
from app.queue import QUEUE_XERO, invoice_scope, lock_key, xero_resource_scope
from app.services import Services
from handlers.closed_invoice import write_on_closed_invoice
from handlers.dynamics_state import load_connection
from mappers.dynamics import ConnectionSettings
from mappers.writeback import history_row
from mappers.xero_to_dynamics import (
    LINKED_INVOICE_COLUMNS,
    HistoryNote,
    InvoiceWriteBack,
    LinkedInvoice,
    linked_invoice_filter,
)

log = logging.getLogger(__name__)

INVOICE_LOCK_WAIT_SECONDS = 5.0
_organisations: dict[str, str] = {}  # Dataverse address -> organisation id, learnt once per process
ORGANISATION_KEY = "connector:dataverse:organisation-id"  # + Dataverse address: the same, shared by processes


@dataclass
class XeroEventContext:
    ctx: JobContext
    services: Services
    connection: ConnectionSettings
    xero: XeroGateway
    now: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def dataverse(self) -> DataverseClient:
        return self.services.dataverse


def load_event_context(ctx: JobContext, services: Services, connection_id: str) -> XeroEventContext:
    connection = load_connection(services.dataverse, connection_id, services.connection_rows)
    if connection is None:
        raise Ignored(f"the Xero connection row {connection_id} no longer exists in Dynamics")
    tenant_id = connection.xero_tenant_id or ctx.payload["tenant_id"]
    return XeroEventContext(
        ctx=ctx,
        services=services,
        connection=connection,
        xero=services.xero.get(connection.id, tenant_id, essential=True),
    )


def organisation_id(dataverse: DataverseClient, redis: Redis | None = None) -> str:
    """The Dynamics organisation id, which names invoice scopes (the Dataverse intake takes it from events).

    Asked of Dataverse (WhoAmI) once and, given `redis`, kept there: a forked work-horse would otherwise ask
    on every job."""
    if dataverse.org_url in _organisations:
        return _organisations[dataverse.org_url]
    key = f"{ORGANISATION_KEY}:{dataverse.org_url}"
    known = redis.get(key) if redis is not None else None
    if known:
        _organisations[dataverse.org_url] = known.decode()
    else:
        _organisations[dataverse.org_url] = dataverse.whoami().organization_id.lower()
        if redis is not None:
            redis.set(key, _organisations[dataverse.org_url])
    return _organisations[dataverse.org_url]


@contextmanager
def invoice_lock(event: XeroEventContext, invoice_id: str) -> Iterator[None]:
    """The invoice's own lock (the one its Dynamics -> Xero sync takes): one writer per invoice at a time."""
    scope = invoice_scope(organisation_id(event.dataverse, event.ctx.redis), invoice_id)
    lock = event.ctx.redis.lock(
        lock_key(scope), timeout=event.ctx.settings.job_timeout_seconds + 60, blocking_timeout=INVOICE_LOCK_WAIT_SECONDS
    )
    if not lock.acquire():
        raise Retryable(f"invoice {invoice_id} is being synced by another worker", retry_after=5)
    try:
        yield
    finally:
        lock.release()


# -- finding the Dynamics rows -------------------------------------------------------------------------------
def linked_invoices(dataverse: DataverseClient, xero_ids: list[str]) -> list[LinkedInvoice]:
    found = dataverse.query("invoices", filter=linked_invoice_filter(xero_ids), select=list(LINKED_INVOICE_COLUMNS))
    return [LinkedInvoice.from_row(row) for row in found]


def reread_invoice(dataverse: DataverseClient, invoice_id: str) -> LinkedInvoice | None:
    row = dataverse.get_optional("invoices", invoice_id, select=list(LINKED_INVOICE_COLUMNS))
    return LinkedInvoice.from_row(row) if row else None


# -- writing -------------------------------------------------------------------------------------------------
def history_operation(
    event: XeroEventContext, invoice_id: str, note: HistoryNote, xero_id: str | None
) -> BatchOperation:
    row = history_row(
        invoice_id=invoice_id,
        connection_id=event.connection.id,
        occurred_on=event.now,
        action=note.action,
        status=note.status,
        details=note.details,
        xero_invoice_id=xero_id,
        time_zone=event.connection.zone,
    )
    return BatchOperation.create(row.entity_set, row.body)


def write_invoice(event: XeroEventContext, invoice: LinkedInvoice, plan: InvoiceWriteBack, xero_id: str | None) -> None:
    """Status and amounts with their history row in one change set; then, alone, the Paid state. A closed
    invoice is reopened around its patches and closed again (handlers.closed_invoice), then told in history.
    A Paid invoice that is owed again is made Active first, on its own: until then Dynamics refuses any other
    change to it."""
    invoice_id = invoice.id
    if plan.closed:
        for patch in plan.patches:
            write_on_closed_invoice(event.dataverse, invoice.state, invoice.status_reason, patch)
        if plan.history is not None:
            event.dataverse.batch([history_operation(event, invoice_id, plan.history, xero_id)])
        return
    if plan.reopen_patch is not None:
        event.dataverse.update(plan.reopen_patch.entity_set, plan.reopen_patch.row_id, plan.reopen_patch.body)
    operations = [BatchOperation.update(p.entity_set, p.row_id, p.body) for p in plan.patches]
    if plan.history is not None:
        operations.append(history_operation(event, invoice_id, plan.history, xero_id))
    if operations:
        event.dataverse.batch(operations)
    if plan.state_patch is not None:
        # Dynamics makes a Paid invoice read-only: the state goes last, on its own, as the platform advises.
        event.dataverse.update(plan.state_patch.entity_set, plan.state_patch.row_id, plan.state_patch.body)


def queue_balance_refresh(event: XeroEventContext, contact_id: str) -> dict[str, str]:
    """Ask for the contact's balances in a job of their own, coalesced per contact: a burst of payments by one
    customer then costs one contact read, not one per invoice (Xero allows 60 calls a minute per tenant)."""
    tenant_id = event.ctx.payload["tenant_id"]
    payload = {
        "tenant_id": tenant_id,
        "category": "CONTACT",
        "resource_id": contact_id.lower(),
        "connection_id": event.connection.id,
        "event_type": "UPDATE",
    }
    result = event.ctx.jobs.submit_coalesced(
        QUEUE_XERO,
        "xero.contact",
        payload,
        scope=xero_resource_scope(tenant_id, "CONTACT", contact_id),
        trigger={"balances_after": event.ctx.kind, "job": event.ctx.job_id},
    )
    return {"balances_job": result.job_id, "balances_job_status": result.status}
