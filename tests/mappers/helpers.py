"""Row fixtures (tests/fixtures/dataverse_rows) read through the mappers, and Xero documents to compare with."""

from __future__ import annotations

import copy
import json
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

from xero_python.accounting import Contact, CreditNote, LineItem, LineItemTracking
from xero_python.accounting import Invoice as XeroInvoice

from mappers.dynamics import ConnectionSettings, Invoice

ROWS = Path(__file__).parent.parent / "fixtures" / "dataverse_rows"
ORG_URL = "https://contoso.crm11.dynamics.com"
CONTACT_ID = "3f1c9e0a-8b7d-4e6f-a5b4-c3d2e1f0a9b8"
XERO_INVOICE_ID = "0b9f5e4a-7c6d-4e3f-9a8b-1c2d3e4f5a6b"


def row(name: str) -> dict[str, Any]:
    """A fresh copy of a recorded Web API row (tests may change it freely)."""
    return json.loads((ROWS / f"{name}.json").read_text())


def line_rows() -> list[dict[str, Any]]:
    return row("invoice_lines")["value"]


def line_row(suffix: str) -> dict[str, Any]:
    """One recorded line by the end of its id: "001" is the Widget line, "004" the write-in note, ..."""
    return copy.deepcopy(next(r for r in line_rows() if r["invoicedetailid"].endswith(suffix)))


def connection(**changes: Any) -> ConnectionSettings:
    return replace(ConnectionSettings.from_row(row("connection")), **changes)


def invoice(
    row_changes: dict[str, Any] | None = None, lines: list[dict[str, Any]] | None = None, **changes: Any
) -> Invoice:
    raw = {**row("invoice"), **(row_changes or {})}
    parsed = Invoice.from_row(raw, line_rows() if lines is None else lines, time_zone=connection().zone)
    return replace(parsed, **changes)


def xero_line(
    description: str,
    quantity: str | None = None,
    unit: str | None = None,
    *,
    line_id: str,
    item_code: str | None = None,
    account: str | None = "200",
    tax_type: str | None = "OUTPUT2",
    line_amount: str | None = None,
    tax_amount: str | None = None,
    discount_rate: str | None = None,
    tracking: list[tuple[str, str]] | None = None,
) -> LineItem:
    priced = quantity is not None
    return LineItem(
        line_item_id=line_id,
        description=description,
        quantity=Decimal(quantity) if priced else None,
        unit_amount=Decimal(unit) if unit else None,
        item_code=item_code,
        account_code=account if priced else None,
        tax_type=tax_type if priced else None,
        line_amount=Decimal(line_amount) if line_amount else None,
        tax_amount=Decimal(tax_amount) if tax_amount else None,
        discount_rate=Decimal(discount_rate) if discount_rate else None,
        tracking=[LineItemTracking(name=n, option=o) for n, o in tracking] if tracking else None,
    )


def xero_invoice(
    status: str = "AUTHORISED",
    *,
    paid: str = "0",
    credited: str = "0",
    total: str = "437.40",
    type_: str = "ACCREC",
    lines: list[LineItem] | None = None,
    **extra: Any,
) -> XeroInvoice:
    """What Xero answers for the fixture invoice once sent (amounts as Xero computed them)."""
    due = Decimal(total) - Decimal(paid) - Decimal(credited)
    return XeroInvoice(
        invoice_id=XERO_INVOICE_ID,
        type=type_,
        status=status,
        invoice_number="INV-01001-K7Q2ZP",
        contact=Contact(contact_id=CONTACT_ID),
        total=Decimal(total),
        amount_paid=Decimal(paid),
        amount_credited=Decimal(credited),
        amount_due=due,
        line_items=lines if lines is not None else sent_lines(),
        **extra,
    )


def sent_lines() -> list[LineItem]:
    """The fixture's lines as Xero holds them after the first sync (header-only bundles)."""
    return [
        xero_line(
            "Widget", "4", "12.50", line_id="x-1", item_code="WIDGET-001", line_amount="50.00", tax_amount="10.00"
        ),
        xero_line(
            "Gadget\nBlue finish",
            "2",
            "40.00",
            line_id="x-2",
            account="260",
            discount_rate="10",
            line_amount="72.00",
            tax_amount="14.40",
            tracking=[("Region", "North"), ("Department", "Sales")],
        ),
        xero_line(
            "Installation\nOn site, two engineers",
            "1.5",
            "95.00",
            line_id="x-3",
            line_amount="142.50",
            tax_amount="28.50",
        ),
        xero_line("Delivery in two parts, see schedule", line_id="x-4"),
        xero_line("Starter kit", "1", "100.00", line_id="x-5", line_amount="100.00", tax_amount="20.00"),
    ]


def xero_credit_note(status: str = "AUTHORISED", *, applied: str = "0", total: str = "100.00") -> CreditNote:
    return CreditNote(
        credit_note_id="c5e1d2f3-0000-4000-8000-0000000cc001",
        type="ACCRECCREDIT",
        status=status,
        credit_note_number="CN-0007",
        total=Decimal(total),
        applied_amount=Decimal(applied),
        remaining_credit=Decimal(total) - Decimal(applied),
        contact=Contact(contact_id=CONTACT_ID),
    )
