"""What cancelling an invoice in Dynamics does in Xero (a Delete with its pre-image, or the state set to Canceled).

    decision = decide_cancellation(xero_document_or_None, create_credit_note=connection.create_credit_note)
    match decision.action:
        case CancellationAction.DELETE | CancellationAction.VOID:
            send status_change(document, decision.action)      # update_invoice / update_credit_note
        case CancellationAction.CREDIT_AND_ALLOCATE | CancellationAction.CREDIT_ONLY:
            credit = build_credit_note(document, on=today)     # create_credit_notes(..., unitdp=4)
            if decision.action is CancellationAction.CREDIT_AND_ALLOCATE:
                send build_allocation(document, on=today)      # create_credit_note_allocation(credit id)
        case CancellationAction.NOTHING: ...
    history row: decision.history_action, decision.history_status, decision.details

Rules (the seed guide's), with "create credit note automatically" on: DRAFT or SUBMITTED -> deleted;
AUTHORISED with nothing paid or credited -> a credit note for the full amount, authorised and allocated to
the invoice; part paid -> the same credit note, not allocated (finance decides about the money received);
PAID -> nothing, "The invoice is fully paid in Xero". With the setting off: nothing in Xero. Cancelling a
credit note deletes a draft one and voids an approved one that has not been applied.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum

from xero_python.accounting import Allocation, Allocations, Contact, CreditNote, LineItem, LineItemTracking
from xero_python.accounting import Invoice as XeroInvoice

from app.dynamics_schema import SyncAction, SyncStatus
from mappers import xero_documents as docs
from mappers.dynamics import XeroDocumentType
from mappers.line_pricing import price_line, to_cents
from mappers.xero_documents import XeroDocument


class CancellationAction(StrEnum):
    NOTHING = "nothing"
    DELETE = "delete"
    VOID = "void"
    CREDIT_AND_ALLOCATE = "credit_and_allocate"
    CREDIT_ONLY = "credit_only"


@dataclass(frozen=True)
class CancellationDecision:
    """What to do, and the sync history to write once it is done (`details` in a finance user's words)."""

    action: CancellationAction
    history_action: SyncAction
    history_status: SyncStatus
    details: str


FULLY_PAID = "The invoice is fully paid in Xero"


def decide_cancellation(existing: XeroDocument | None, *, create_credit_note: bool) -> CancellationDecision:
    if existing is None:
        return _nothing("The invoice was cancelled in Dynamics. It was never sent to Xero, so nothing changed there.")
    status = docs.status_of(existing)
    if docs.is_gone(existing):
        word = "voided" if status == docs.VOIDED else "deleted"
        return _nothing(f"The invoice was cancelled in Dynamics. It is already {word} in Xero, so nothing changed.")
    if not create_credit_note:
        return _nothing(
            'The invoice was cancelled in Dynamics. Nothing was changed in Xero because "Create credit note '
            'automatically" is off for this Xero connection: cancel or credit it in Xero yourself.'
        )
    if status in (docs.DRAFT, docs.SUBMITTED):
        kind = "credit note" if isinstance(existing, CreditNote) else "invoice"
        return CancellationDecision(
            CancellationAction.DELETE,
            SyncAction.DELETE,
            SyncStatus.SUCCESS,
            f"The {kind} was cancelled in Dynamics, so the {status.lower()} {kind} was deleted in Xero.",
        )
    if isinstance(existing, CreditNote):
        return _credit_note_decision(existing)
    if status == docs.PAID or docs.amount_due(existing) <= 0:
        return CancellationDecision(
            CancellationAction.NOTHING,
            SyncAction.CREDIT_NOTE,
            SyncStatus.INFORMATION,
            f"{FULLY_PAID}, so nothing was changed there. Refund or credit the customer in Xero if needed.",
        )
    if docs.amount_paid(existing) > 0 or docs.amount_credited(existing) > 0:
        return CancellationDecision(
            CancellationAction.CREDIT_ONLY,
            SyncAction.CREDIT_NOTE,
            SyncStatus.SUCCESS,
            "The invoice was cancelled in Dynamics. It is part paid in Xero, so a credit note for the full amount "
            "was created but not applied to the invoice: allocate or refund it in Xero.",
        )
    return CancellationDecision(
        CancellationAction.CREDIT_AND_ALLOCATE,
        SyncAction.CREDIT_NOTE,
        SyncStatus.SUCCESS,
        "The invoice was cancelled in Dynamics, so a credit note for the full amount was created in Xero and "
        "applied to the invoice.",
    )


def _credit_note_decision(existing: CreditNote) -> CancellationDecision:
    if docs.amount_credited(existing) > 0 or docs.amount_paid(existing) > 0 or docs.status_of(existing) == docs.PAID:
        return _nothing(
            "The credit note was cancelled in Dynamics, but it has already been applied or refunded in Xero, so "
            "nothing was changed there."
        )
    return CancellationDecision(
        CancellationAction.VOID,
        SyncAction.VOID,
        SyncStatus.SUCCESS,
        "The credit note was cancelled in Dynamics, so it was voided in Xero.",
    )


def _nothing(details: str) -> CancellationDecision:
    return CancellationDecision(CancellationAction.NOTHING, SyncAction.DELETE, SyncStatus.SKIPPED, details)


def status_change(existing: XeroDocument, action: CancellationAction) -> XeroDocument:
    """The minimal body that deletes (DELETE) or voids (VOID) a document."""
    if action not in (CancellationAction.DELETE, CancellationAction.VOID):
        raise ValueError(f"{action} is not a status change")
    status = docs.DELETED if action is CancellationAction.DELETE else docs.VOIDED
    if isinstance(existing, CreditNote):
        return CreditNote(credit_note_id=docs.document_id(existing), status=status)
    return XeroInvoice(invoice_id=docs.document_id(existing), status=status)


def build_credit_note(invoice: XeroInvoice, *, on: date) -> CreditNote:
    """An authorised credit note for the invoice's full amount, with the invoice's lines (as Xero holds them).

    Xero takes no discounts on credit notes, so a discounted line is sent at its net amount
    (`mappers.line_pricing`); the tax of each line is sent as Xero calculated it on the invoice.
    """
    document_type = XeroDocumentType(invoice.type)
    number = invoice.invoice_number or ""
    return CreditNote(
        type=document_type.credit_type.value,
        contact=Contact(contact_id=invoice.contact.contact_id) if invoice.contact else None,
        date=on,
        status=docs.AUTHORISED,
        line_amount_types=invoice.line_amount_types,
        currency_code=invoice.currency_code,
        currency_rate=invoice.currency_rate,
        branding_theme_id=invoice.branding_theme_id,
        reference=f"Cancellation of {number}".strip() if number else "Cancellation",
        line_items=[_credit_line(line) for line in invoice.line_items or ()],
    )


def _credit_line(line: LineItem) -> LineItem:
    tracking = [LineItemTracking(name=t.name, option=t.option) for t in line.tracking or ()] or None
    if line.quantity is None and line.unit_amount is None:
        return LineItem(description=line.description, tracking=tracking)
    quantity = docs.money(line.quantity if line.quantity is not None else 1)
    unit = docs.money(line.unit_amount)
    net = docs.money(line.line_amount) if line.line_amount is not None else to_cents(quantity * unit)
    priced = price_line(quantity, unit, to_cents(quantity * unit) - net, discount_rate_allowed=False)
    return LineItem(
        description=line.description,
        quantity=priced.quantity,
        unit_amount=priced.unit_amount,
        item_code=line.item_code,
        account_code=line.account_code,
        tax_type=line.tax_type,
        tax_amount=line.tax_amount,
        tracking=tracking,
    )


def build_allocation(invoice: XeroInvoice, *, on: date) -> Allocations:
    """Apply the new credit note to the invoice for what is still due (the full amount when nothing was paid)."""
    amount: Decimal = docs.amount_due(invoice)
    return Allocations(
        allocations=[Allocation(invoice=XeroInvoice(invoice_id=docs.document_id(invoice)), amount=amount, date=on)]
    )
