"""Carry out the cancellation rules (`mappers.cancellation`) in Xero, once, for a cancelled or deleted invoice.

The credit note a cancellation creates is recorded in Redis the moment Xero answers, so a retried job (a lost
answer, a worker that died) finishes the same credit note, and its allocation, instead of making another.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from xero_python.accounting import CreditNote
from xero_python.accounting import Invoice as XeroInvoice

from app.clients.xero import XeroGateway
from app.dynamics_schema import SyncAction, SyncStatus
from app.sync_records import SyncRecords
from handlers.xero_io import DocumentSender
from mappers import xero_documents as docs
from mappers.cancellation import (
    CancellationAction,
    CancellationDecision,
    build_allocation,
    build_credit_note,
    decide_cancellation,
    status_change,
)
from mappers.xero_documents import XeroDocument
from mappers.xero_invoice import idempotency_key

LOOKUP_MARGIN = timedelta(minutes=5)  # clocks of workers and Xero differ a little

_CREDITED_AND_APPLIED = CancellationDecision(
    CancellationAction.CREDIT_AND_ALLOCATE,
    SyncAction.CREDIT_NOTE,
    SyncStatus.SUCCESS,
    "The invoice was cancelled in Dynamics, so a credit note for the full amount was created in Xero and applied "
    "to the invoice.",
)


@dataclass(frozen=True)
class CancelResult:
    decision: CancellationDecision
    document: XeroDocument | None  # the document as Xero holds it afterwards (None: never sent)
    credit_note: CreditNote | None = None


def cancel_in_xero(
    xero: XeroGateway,
    records: SyncRecords,
    organization_id: str,
    invoice_id: str,
    existing: XeroDocument | None,
    *,
    create_credit_note: bool,
    today: date,
) -> CancelResult:
    record = records.document(organization_id, invoice_id)
    if isinstance(existing, XeroInvoice) and (record.credit_note_id or record.credit_outcome_unknown):
        # An earlier attempt got as far as the credit note: finish that one, never decide afresh (the invoice
        # may look paid now only because our own credit was applied to it).
        return _finish_credit(xero, records, organization_id, invoice_id, existing, today)
    decision = decide_cancellation(existing, create_credit_note=create_credit_note)
    if existing is None or decision.action is CancellationAction.NOTHING:
        return CancelResult(decision, existing)
    sender = DocumentSender(xero)
    if decision.action in (CancellationAction.DELETE, CancellationAction.VOID):
        body = status_change(existing, decision.action)
        after = sender.set_status(existing, body, idempotency_key(body, scope="cancel"))
        return CancelResult(decision, after)
    assert isinstance(existing, XeroInvoice)
    records.begin_credit(organization_id, invoice_id)
    credit = _create_credit(xero, records, organization_id, invoice_id, existing, today)
    if decision.action is CancellationAction.CREDIT_AND_ALLOCATE:
        _allocate(xero, credit, existing, today)
    return CancelResult(decision, xero.get_invoice(str(docs.document_id(existing))), credit)


def _finish_credit(
    xero: XeroGateway, records: SyncRecords, organization_id: str, invoice_id: str, invoice: XeroInvoice, today: date
) -> CancelResult:
    credit = _create_credit(xero, records, organization_id, invoice_id, invoice, today)
    nothing_paid = docs.amount_paid(invoice) == 0
    if nothing_paid and docs.amount_due(invoice) > 0 and docs.amount_due(credit) > 0:
        _allocate(xero, credit, invoice, today)
        invoice = xero.get_invoice(str(docs.document_id(invoice)))
    decision = _CREDITED_AND_APPLIED if nothing_paid else decide_cancellation(invoice, create_credit_note=True)
    return CancelResult(decision, invoice, credit)


def _create_credit(
    xero: XeroGateway, records: SyncRecords, organization_id: str, invoice_id: str, invoice: XeroInvoice, today: date
) -> CreditNote:
    record = records.document(organization_id, invoice_id)
    if record.credit_note_id:
        return xero.get_credit_note(record.credit_note_id)
    credit = build_credit_note(invoice, on=today)
    if record.credit_outcome_unknown and record.credit_started_at is not None:
        found = xero.find_credit_note(
            modified_since=record.credit_started_at - LOOKUP_MARGIN,
            reference=credit.reference,
            contact_id=str(invoice.contact.contact_id) if invoice.contact else None,
        )
        if found is not None and docs.status_of(found) not in (docs.DELETED, docs.VOIDED):
            records.record_credit(organization_id, invoice_id, str(docs.document_id(found)))
            return found
    records.begin_credit(organization_id, invoice_id)
    saved = DocumentSender(xero).create(credit, idempotency_key(credit, scope=f"cancel:{invoice_id}"))
    records.record_credit(organization_id, invoice_id, str(docs.document_id(saved)))
    assert isinstance(saved, CreditNote)
    return saved


def _allocate(xero: XeroGateway, credit: CreditNote, invoice: XeroInvoice, today: date) -> None:
    allocation = build_allocation(invoice, on=today).allocations[0]
    amount = min(docs.amount_due(invoice), docs.amount_due(credit))
    credit_id = str(docs.document_id(credit))
    xero.allocate_credit_note(
        credit_id,
        str(docs.document_id(invoice)),
        amount,
        allocation.date,
        idempotency_key=f"xc-allocate-{credit_id}-{amount}",
    )
