"""The default connection's one meaning: an invoice marked "Ready to update" that names no Xero connection is
sent to the connection flagged Default (`xc_isdefault`), and the invoice says so.

The invoice's connection lookup is set to the default one and a Sync History row tells which organisation was
used, in the same change set; the sync then carries on as if a person had chosen it. An invoice that names no
connection and is not marked Ready to update is left alone (it is still being written). When several active
connections are flagged Default, the oldest is used.
"""

from __future__ import annotations

from datetime import datetime

from app import dynamics_schema as schema
from app.clients.dataverse import DataverseClient
from app.dynamics_schema import SyncAction, SyncStatus
from handlers.dynamics_outcomes import Outcome, write_outcome
from mappers.dynamics import ConnectionSettings, Invoice, connection_query
from mappers.writeback import RowPatch

_INVOICE_CONNECTION_NAV = schema.lookup("invoice", schema.INVOICE_CONNECTION)


def find_default_connection(dataverse: DataverseClient) -> ConnectionSettings | None:
    found = dataverse.query(
        schema.CONNECTION_ENTITY_SET,
        select=connection_query()["$select"],
        filter=f"{schema.CONNECTION_IS_DEFAULT} eq true and statecode eq 0",
        orderby="createdon asc",
        top=1,
        formatted_values=True,
    )
    return ConnectionSettings.from_row(found[0]) if found else None


def default_used_note(connection: ConnectionSettings) -> str:
    name = connection.xero_tenant_name or connection.name or connection.id
    return (
        f"The invoice was marked Ready to update without a Xero connection, so the default connection "
        f"'{name}' was used. Choose another connection on the invoice to send it elsewhere instead."
    )


def assign_default_connection(
    dataverse: DataverseClient, invoice: Invoice, connection: ConnectionSettings, now: datetime
) -> None:
    """The invoice's connection set to the default one, with the history row that says so."""
    patch = RowPatch("invoices", invoice.id, schema.bind(_INVOICE_CONNECTION_NAV, connection.id))
    write_outcome(
        dataverse,
        Outcome(
            invoice_id=invoice.id,
            connection=connection,
            action=SyncAction.CREATE if not invoice.xero_invoice_id else SyncAction.UPDATE,
            status=SyncStatus.INFORMATION,
            details=default_used_note(connection),
            patches=[patch],
        ),
        now,
    )
