"""Dynamics changes whose webhooks were lost, found with Dataverse change tracking (part of `reconcile`).

Each pass follows the delta links of the invoice and invoice line tables (kept in Redis per organisation) and
queues what the lost webhooks would have queued, whatever the export status says:

- an invoice created, edited, cancelled or given a connection: the coalesced `invoice.sync`, unless its content
  is what the last finished sync saw (the connector's own write-backs change the row too);
- an invoice deleted: `invoice.delete` with the pre-image rebuilt from what was remembered while it existed
  (change tracking gives only the id of a deleted row);
- a line created or edited by someone other than the connector, or deleted: its invoice's `invoice.sync`.

The first read of a table (no link yet, or Redis lost it, or Dataverse refused an old link) returns every row:
then only rows modified since the pass's window are queued, and every synced invoice's identity is remembered.
The new links are kept only after everything found was queued, so a pass that fails is read again next time.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from app.clients.dataverse import TableChanges
from app.connector_identity import connector_user
from app.dispatch import JobContext
from app.errors import Permanent
from app.queue import QUEUE_DATAVERSE, invoice_scope
from app.reconciliation import load_delta_link, save_delta_link
from app.services import Services
from mappers import rows
from mappers.dynamics_changes import (
    INVOICE_CHANGE_COLUMNS,
    LINE_CHANGE_COLUMNS,
    identity_of,
    needs_sync,
)

log = logging.getLogger(__name__)

INVOICES = "invoices"
LINES = "invoicedetails"


def recover_dynamics_changes(
    ctx: JobContext, services: Services, organization_id: str, modified_since: datetime
) -> dict[str, Any]:
    invoices, invoices_afresh = _read(ctx, services, organization_id, INVOICES, INVOICE_CHANGE_COLUMNS)
    lines, lines_afresh = _read(ctx, services, organization_id, LINES, LINE_CHANGE_COLUMNS)
    recovery = _Recovery(ctx, services, organization_id)
    window = modified_since if invoices_afresh else None
    for row in invoices.changed:
        recovery.invoice_changed(row, window)
    for invoice_id in invoices.deleted:
        recovery.invoice_deleted(invoice_id)
    if not lines_afresh:  # a first read lists every line ever: their invoices' own rows say what changed
        for row in lines.changed:
            recovery.line_changed(row)
        for line_id in lines.deleted:
            recovery.line_deleted(line_id)
    save_delta_link(ctx.redis, organization_id, INVOICES, invoices.delta_link)
    save_delta_link(ctx.redis, organization_id, LINES, lines.delta_link)
    return {"first_read": invoices_afresh, **recovery.counts}


def _read(
    ctx: JobContext, services: Services, organization_id: str, entity_set: str, select: tuple[str, ...]
) -> tuple[TableChanges, bool]:
    link = load_delta_link(ctx.redis, organization_id, entity_set)
    if link is not None:
        try:
            return services.dataverse.changes(entity_set, select=select, delta_link=link), False
        except Permanent as exc:
            # An expired or refused token: start again from a whole read, as Dataverse's docs advise.
            log.warning("delta link refused; reading the table afresh", extra={"table": entity_set, "error": str(exc)})
    return services.dataverse.changes(entity_set, select=select), True


class _Recovery:
    def __init__(self, ctx: JobContext, services: Services, organization_id: str) -> None:
        self.ctx = ctx
        self.records = services.records
        self.organization_id = organization_id
        self.connector_user = connector_user(ctx.settings.connector_user_id, ctx.redis).lower()
        self.counts = {"invoices_synced": 0, "invoices_deleted": 0, "lines_changed": 0}
        self._queued: set[str] = set()

    def invoice_changed(self, row: dict[str, Any], modified_since: datetime | None) -> None:
        invoice_id = str(row["invoiceid"]).lower()
        identity = identity_of(row)
        if identity is not None:
            self.records.remember_identity(self.organization_id, invoice_id, identity)
        recorded = self.records.recorded_content(self.organization_id, invoice_id)
        if needs_sync(row, recorded_fingerprint=recorded, modified_since=modified_since):
            self._sync(invoice_id, {"change_tracking": "invoice"})
            self.counts["invoices_synced"] += 1

    def invoice_deleted(self, invoice_id: str) -> None:
        identity = self.records.identity(self.organization_id, invoice_id)
        if identity is None:
            return  # never sent to Xero, or its delete was already carried out (which forgets the record)
        self.ctx.jobs.submit(
            QUEUE_DATAVERSE,
            "invoice.delete",
            {"organization_id": self.organization_id, "invoice_id": invoice_id, "pre_image": identity.pre_image()},
            trigger={"change_tracking": "deleted"},
            lock_scope=invoice_scope(self.organization_id, invoice_id),
        )
        self.counts["invoices_deleted"] += 1

    def line_changed(self, row: dict[str, Any]) -> None:
        invoice_id = rows.lookup_id(row, "invoiceid")
        modified_by = (rows.lookup_id(row, "modifiedby") or "").lower()
        if invoice_id and (not self.connector_user or modified_by != self.connector_user):
            self._sync(invoice_id.lower(), {"change_tracking": "line", "line_id": str(row.get("invoicedetailid"))})
            self.counts["lines_changed"] += 1

    def line_deleted(self, line_id: str) -> None:
        invoice_id = self.records.invoice_for_line(self.organization_id, line_id)
        if invoice_id:
            self._sync(invoice_id.lower(), {"change_tracking": "line deleted", "line_id": line_id})
            self.counts["lines_changed"] += 1

    def _sync(self, invoice_id: str, trigger: dict[str, Any]) -> None:
        if invoice_id in self._queued:
            return
        self._queued.add(invoice_id)
        self.ctx.jobs.submit_coalesced(
            QUEUE_DATAVERSE,
            "invoice.sync",
            {"organization_id": self.organization_id, "invoice_id": invoice_id},
            scope=invoice_scope(self.organization_id, invoice_id),
            trigger=trigger,
        )
