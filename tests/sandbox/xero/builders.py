"""Small builders for SDK models used across the sandbox Xero tests."""

from __future__ import annotations

import datetime as dt
from typing import Any

from xero_python.accounting import Contact, CreditNote, Invoice, LineAmountTypes, LineItem, LineItemTracking

from sandbox.xero.seed import TENANT_A_ID, seeded_id

ACME_ID = seeded_id(TENANT_A_ID, "contact", "Acme Corporation")
GLOBEX_ID = seeded_id(TENANT_A_ID, "contact", "Globex Ltd")
INITECH_ID = seeded_id(TENANT_A_ID, "contact", "Initech Supplies")
ISSUED = dt.date(2026, 1, 10)
DUE = dt.date(2026, 2, 9)


def line(
    description: str = "Widget",
    quantity: float = 1,
    unit_amount: float = 100,
    account_code: str = "200",
    tax_type: str | None = "OUTPUT2",
    **extra: Any,
) -> LineItem:
    return LineItem(
        description=description,
        quantity=quantity,
        unit_amount=unit_amount,
        account_code=account_code,
        tax_type=tax_type,
        **extra,
    )


def tracking(name: str, option: str) -> LineItemTracking:
    return LineItemTracking(name=name, option=option)


def invoice(
    lines: list[LineItem] | None = None,
    status: str = "AUTHORISED",
    contact_id: str = ACME_ID,
    kind: str = "ACCREC",
    amounts: str = "Exclusive",
    due: dt.date | None = DUE,
    **extra: Any,
) -> Invoice:
    return Invoice(
        type=kind,
        contact=Contact(contact_id=contact_id),
        date=ISSUED,
        due_date=due,
        line_items=lines if lines is not None else [line()],
        status=status,
        line_amount_types=LineAmountTypes[amounts.upper()],
        **extra,
    )


def credit_note(
    amount: float = 24, status: str = "AUTHORISED", contact_id: str = ACME_ID, kind: str = "ACCRECCREDIT"
) -> CreditNote:
    return CreditNote(
        type=kind,
        contact=Contact(contact_id=contact_id),
        date=ISSUED,
        status=status,
        line_items=[line("Refund", 1, amount)],
        line_amount_types=LineAmountTypes.EXCLUSIVE,
    )


# The connector's scopes plus payment writes: tests play the finance user who records payments in Xero.
FINANCE_SCOPES = [
    "offline_access",
    "accounting.invoices",
    "accounting.payments",
    "accounting.contacts",
    "accounting.settings",
]
