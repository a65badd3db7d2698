"""Names of the connector's own tables, columns and choices in Dynamics 365: one definition for all code.

`plugins_registration provision` creates exactly what is described here; the webhooks, handlers and
mappers refer to these names and never spell a column out themselves.
"""

from __future__ import annotations

from enum import IntEnum

PUBLISHER_PREFIX = "xc"


def column(name: str) -> str:
    """The logical name of one of our columns or tables: prefix + underscore + name."""
    return f"{PUBLISHER_PREFIX}_{name}"


# Columns on the invoice that the intake needs to know about.
INVOICE_CONNECTION = column("connectionid")  # lookup to the connection table; setting it means "ready to sync"
INVOICE_EXPORT_STATUS = column("exportstatus")
INVOICE_XERO_INVOICE_ID = column("xeroinvoiceid")


class ExportStatus(IntEnum):
    """Choice values of the invoice's export status column."""

    NO = 100000000
    YES = 100000001
    FAILED = 100000002
    READY_TO_UPDATE = 100000003


# Values a person sets to ask for a (re)sync; the connector itself only ever writes YES or FAILED.
RESYNC_REQUEST_VALUES = frozenset({ExportStatus.NO, ExportStatus.READY_TO_UPDATE})


class InvoiceType(IntEnum):
    SALES_INVOICE = 100000000
    PURCHASE_INVOICE = 100000001
    SALES_CREDIT_NOTE = 100000002
    PURCHASE_CREDIT_NOTE = 100000003
