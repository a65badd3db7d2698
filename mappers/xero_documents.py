"""Uniform reading of Xero invoices and credit notes (xero-python models): ids, numbers, statuses, money.

The two models name the same ideas differently (`invoice_id` / `credit_note_id`, `amount_credited` /
`applied_amount`); everything else in `mappers` asks through these helpers.
"""

from __future__ import annotations

from decimal import Decimal

from xero_python.accounting import CreditNote
from xero_python.accounting import Invoice as XeroInvoice

from mappers.dynamics import XeroDocumentType

XeroDocument = XeroInvoice | CreditNote

DRAFT = "DRAFT"
SUBMITTED = "SUBMITTED"
AUTHORISED = "AUTHORISED"
PAID = "PAID"
VOIDED = "VOIDED"
DELETED = "DELETED"

# Statuses a document moves forward through; the connector never asks Xero to move one back.
STATUS_RANK = {DRAFT: 0, SUBMITTED: 1, AUTHORISED: 2}
ZERO = Decimal("0")


def money(value: object) -> Decimal:
    """SDK amounts arrive as float or Decimal (or None); go through str to keep the cents exact."""
    if value is None:
        return ZERO
    return Decimal(str(value))


def document_id(document: XeroDocument) -> str | None:
    raw = document.credit_note_id if isinstance(document, CreditNote) else document.invoice_id
    return str(raw) if raw else None


def document_number(document: XeroDocument) -> str | None:
    return (document.credit_note_number if isinstance(document, CreditNote) else document.invoice_number) or None


def document_type(document: XeroDocument) -> XeroDocumentType | None:
    return XeroDocumentType(document.type) if document.type in XeroDocumentType.__members__ else None


def status_of(document: XeroDocument) -> str:
    return str(document.status or "").upper()


def amount_paid(document: XeroDocument) -> Decimal:
    if isinstance(document, CreditNote):
        return sum((money(p.amount) for p in document.payments or ()), ZERO)
    return money(document.amount_paid)


def amount_credited(document: XeroDocument) -> Decimal:
    """On an invoice: credit notes and overpayments allocated to it. On a credit note: what it has been applied to."""
    if isinstance(document, CreditNote):
        return money(document.applied_amount)
    return money(document.amount_credited)


def amount_due(document: XeroDocument) -> Decimal:
    """What is still open: an invoice's amount due, a credit note's remaining credit."""
    if isinstance(document, CreditNote):
        return money(document.remaining_credit)
    return money(document.amount_due)


def is_settled(document: XeroDocument) -> bool:
    """Money is allocated (payments or credits): Xero then allows only a few fields to change."""
    return status_of(document) == PAID or amount_paid(document) > 0 or amount_credited(document) > 0


def is_gone(document: XeroDocument) -> bool:
    return status_of(document) in (VOIDED, DELETED)
