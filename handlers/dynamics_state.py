"""Re-read an invoice and everything its sync needs from Dataverse (a job carries ids, never state).

The queries are the mappers' own (`mappers.dynamics.*_query`), read with annotations so the customer's table
and the tracking category names come along.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app import dynamics_schema as schema
from app.clients.dataverse import DataverseClient
from app.connection_rows import ConnectionRowCache
from mappers import rows
from mappers.dynamics import (
    ConnectionSettings,
    Customer,
    Invoice,
    connection_query,
    customer_query,
    invoice_lines_query,
    invoice_query,
)


@dataclass(frozen=True)
class InvoiceState:
    invoice: Invoice
    connection: ConnectionSettings | None
    customer: Customer | None


def load_connection(
    dataverse: DataverseClient, connection_id: str, cache: ConnectionRowCache | None = None
) -> ConnectionSettings | None:
    """The connection's settings; with `cache`, from a recent read when there is one (see app.connection_rows)."""
    query = connection_query()

    def read() -> dict[str, Any] | None:
        return dataverse.get_optional(
            schema.CONNECTION_ENTITY_SET, connection_id, select=query["$select"], formatted_values=True
        )

    row = cache.get_or_read(connection_id, read) if cache is not None else read()
    return ConnectionSettings.from_row(row) if row else None


def load_invoice(
    dataverse: DataverseClient, invoice_id: str, connections: ConnectionRowCache | None = None
) -> InvoiceState | None:
    """The invoice with its lines, connection and customer; None when the row no longer exists."""
    query = invoice_query()
    row = dataverse.get_optional(
        "invoices", invoice_id, select=query["$select"], expand=query["$expand"], formatted_values=True
    )
    if row is None:
        return None
    connection_id = rows.lookup_id(row, schema.INVOICE_CONNECTION)
    connection = load_connection(dataverse, connection_id, connections) if connection_id else None
    lines_query = invoice_lines_query(invoice_id)
    lines = dataverse.query(
        "invoicedetails",
        filter=lines_query["$filter"],
        select=lines_query["$select"],
        expand=lines_query["$expand"],
        formatted_values=True,
    )
    invoice = Invoice.from_row(row, lines, time_zone=connection.zone if connection else "UTC")
    customer = None
    if invoice.customer is not None:
        kind = invoice.customer.kind
        customer_row = dataverse.get_optional(
            kind.entity_set, invoice.customer.id, select=customer_query(kind)["$select"]
        )
        customer = Customer.from_row(customer_row, kind) if customer_row else None
    return InvoiceState(invoice=invoice, connection=connection, customer=customer)


def invoice_of_line(dataverse: DataverseClient, line_id: str) -> str | None:
    """The invoice a line belongs to, or None when the line is gone."""
    row = dataverse.get_optional("invoicedetails", line_id, select=["_invoiceid_value"])
    return rows.lookup_id(row, "invoiceid") if row else None
