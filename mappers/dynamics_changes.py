"""What a change-tracking read of Dynamics invoices asks of the connector (pure: rows in, decisions out).

A delta row is the invoice's current state, not what changed. The connector's own write-backs (Xero number,
status, amounts, export status) change the row too, so "the row changed" is not "a person changed it". The
content fingerprint covers what a person edits and the Xero document is built from; the sync records it when it
finishes (`SyncRecords.record_content`), and a delta row whose fingerprint equals the recorded one needs nothing.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app import dynamics_schema as schema
from app.dynamics_schema import ExportStatus
from mappers import rows
from mappers.dynamics import InvoiceState

# What a person edits on the invoice header that the Xero document is built from. Not the totals: the
# connector's own write-back of each line's tax (Xero's figure) changes them too. A person's line edit is
# found through the line table's changes instead (`LINE_CHANGE_COLUMNS`: lines the connector did not write).
INVOICE_CONTENT_COLUMNS: tuple[str, ...] = (
    "invoicenumber",
    "name",
    "_customerid_value",
    "_pricelevelid_value",
    "_transactioncurrencyid_value",
    "datedelivered",
    "duedate",
    schema.INVOICE_INVOICE_TYPE,
    schema.INVOICE_LINE_AMOUNT_TYPES,
    rows.lookup_key(schema.INVOICE_CONNECTION),
    rows.lookup_key(schema.INVOICE_BRANDING_THEME),
)
# The rest of what the reconciliation reads of each invoice: to decide, and to cancel a deleted one later.
INVOICE_CHANGE_COLUMNS: tuple[str, ...] = (
    *INVOICE_CONTENT_COLUMNS,
    "statecode",
    "modifiedon",
    schema.INVOICE_EXPORT_STATUS,
    schema.INVOICE_XERO_INVOICE_ID,
    schema.INVOICE_XERO_NUMBER,
)
LINE_CHANGE_COLUMNS: tuple[str, ...] = ("_invoiceid_value", "_modifiedby_value")


def content_fingerprint(row: Mapping[str, Any]) -> str:
    """A digest of the invoice's content columns (the statecode counts only as cancelled or not: the connector
    itself sets Paid)."""
    content = {name: row.get(name) for name in INVOICE_CONTENT_COLUMNS}
    content["cancelled"] = row.get("statecode") == int(InvoiceState.CANCELED)
    return hashlib.sha256(json.dumps(content, sort_keys=True, default=str).encode()).hexdigest()


@dataclass(frozen=True)
class DeletedInvoiceIdentity:
    """What a delete needs to find and cancel the Xero document, remembered while the row existed (a
    RemovedOrDeletedItem carries only the id)."""

    xero_invoice_id: str
    connection_id: str
    invoice_type: int | None
    number: str | None

    def pre_image(self) -> dict[str, Any]:
        """The Delete's pre-image `handlers.invoice_delete` reads, rebuilt from what was remembered."""
        return {
            schema.INVOICE_XERO_INVOICE_ID: self.xero_invoice_id,
            schema.INVOICE_CONNECTION: {"id": self.connection_id, "logicalName": schema.CONNECTION_ENTITY},
            schema.INVOICE_INVOICE_TYPE: self.invoice_type,
            schema.INVOICE_XERO_NUMBER: self.number,
        }


def identity_of(row: Mapping[str, Any]) -> DeletedInvoiceIdentity | None:
    """The identity to remember for a row that has a Xero document, else None."""
    xero_id = rows.text(row, schema.INVOICE_XERO_INVOICE_ID)
    connection_id = rows.lookup_id(row, schema.INVOICE_CONNECTION)
    if not xero_id or not connection_id:
        return None
    raw_type = row.get(schema.INVOICE_INVOICE_TYPE)
    return DeletedInvoiceIdentity(
        xero_invoice_id=xero_id.lower(),
        connection_id=connection_id.lower(),
        invoice_type=int(raw_type) if isinstance(raw_type, int) else None,
        number=rows.text(row, schema.INVOICE_XERO_NUMBER) or rows.text(row, "invoicenumber"),
    )


def needs_sync(
    row: Mapping[str, Any], *, recorded_fingerprint: str | None, modified_since: datetime | None = None
) -> bool:
    """Whether a changed invoice row (from a delta link) needs the sync its lost webhook would have queued.

    `modified_since` is for the first read of a table (no delta link yet, or Redis lost it), which returns every
    row and no line changes: each row modified since then is queued (what changed cannot be told apart from the
    connector's own write-backs then; a sync that finds nothing to do sends nothing).
    """
    if not rows.lookup_id(row, schema.INVOICE_CONNECTION):
        return False  # not for Xero (choosing a connection is itself an edit that shows up here)
    if modified_since is not None and not _modified_since(row, modified_since):
        return False
    cancelled = row.get("statecode") == int(InvoiceState.CANCELED)
    if row.get(schema.INVOICE_EXPORT_STATUS) == int(ExportStatus.FAILED) and not cancelled:
        return False  # waits for a person to set it back to No or Ready to update
    if modified_since is not None:
        return True
    if row.get(schema.INVOICE_EXPORT_STATUS) in (None, int(ExportStatus.NO), int(ExportStatus.READY_TO_UPDATE)):
        return True
    return content_fingerprint(row) != recorded_fingerprint


def _modified_since(row: Mapping[str, Any], since: datetime) -> bool:
    raw = row.get("modifiedon")
    if not isinstance(raw, str):
        return True
    try:
        modified = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return True
    return modified >= since
