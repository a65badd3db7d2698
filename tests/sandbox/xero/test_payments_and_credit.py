"""Payments and credit-note allocations drive AmountDue, PAID and contact balances."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal

import pytest
from xero_python.accounting import (
    Account,
    Allocation,
    Allocations,
    CreditNote,
    CreditNotes,
    Invoice,
    Invoices,
    Payment,
    Payments,
)
from xero_python.exceptions import AccountingBadRequestException

from sandbox.xero.sdk import SdkClient
from tests.sandbox.xero.builders import ACME_ID, FINANCE_SCOPES, GLOBEX_ID, credit_note, invoice, line


@pytest.fixture
def xero_client(xero_sdk: Callable[..., SdkClient]) -> SdkClient:
    return xero_sdk(scopes=FINANCE_SCOPES)


def _invoice(client: SdkClient, amount: float = 100, **kwargs: object) -> Invoice:
    doc = invoice([line(unit_amount=amount)], **kwargs)
    return client.accounting.create_invoices(client.tenant_id, Invoices(invoices=[doc])).invoices[0]


def _pay(client: SdkClient, invoice_id: str, amount: float, code: str = "090") -> Payment:
    payment = Payment(
        invoice=Invoice(invoice_id=invoice_id),
        account=Account(code=code),
        amount=amount,
        date=dt.date(2026, 1, 20),
        reference="bank",
    )
    return client.accounting.create_payments(client.tenant_id, Payments(payments=[payment])).payments[0]


def _get(client: SdkClient, invoice_id: str) -> Invoice:
    return client.accounting.get_invoice(client.tenant_id, invoice_id).invoices[0]


def _credit(client: SdkClient, note: CreditNote) -> CreditNote:
    return client.accounting.create_credit_notes(client.tenant_id, CreditNotes(credit_notes=[note])).credit_notes[0]


def _allocate(client: SdkClient, note_id: str, invoice_id: str, amount: float) -> Allocation:
    allocation = Allocation(invoice=Invoice(invoice_id=invoice_id), amount=amount, date=dt.date(2026, 1, 21))
    return client.accounting.create_credit_note_allocation(
        client.tenant_id, note_id, Allocations(allocations=[allocation])
    ).allocations[0]


def test_partial_then_full_payment_marks_paid(xero_client: SdkClient) -> None:
    doc = _invoice(xero_client)  # 120.00 with VAT
    first = _pay(xero_client, doc.invoice_id, 20)
    assert first.payment_type == "ACCRECPAYMENT" and first.status == "AUTHORISED"
    partly = _get(xero_client, doc.invoice_id)
    assert (partly.status, partly.amount_paid, partly.amount_due) == ("AUTHORISED", Decimal("20.00"), Decimal("100.00"))
    _pay(xero_client, doc.invoice_id, 100)
    paid = _get(xero_client, doc.invoice_id)
    assert (paid.status, paid.amount_due, paid.amount_paid) == ("PAID", Decimal("0.00"), Decimal("120.00"))
    assert paid.fully_paid_on_date == dt.date(2026, 1, 20)
    assert len(paid.payments) == 2
    fetched = xero_client.accounting.get_payment(xero_client.tenant_id, first.payment_id).payments[0]
    assert fetched.invoice.invoice_id == doc.invoice_id and fetched.amount == Decimal("20.00")
    assert len(xero_client.accounting.get_payments(xero_client.tenant_id).payments) == 2


def test_overpayment_and_payment_to_draft_are_refused(xero_client: SdkClient) -> None:
    doc = _invoice(xero_client)
    with pytest.raises(AccountingBadRequestException) as error:
        _pay(xero_client, doc.invoice_id, 120.01)
    assert error.value.reason == "Payment amount exceeds the amount outstanding on this document"
    draft = _invoice(xero_client, status="DRAFT")
    with pytest.raises(AccountingBadRequestException) as error:
        _pay(xero_client, draft.invoice_id, 1)
    assert error.value.reason == "Payments can only be made against Authorised documents"
    with pytest.raises(AccountingBadRequestException) as error:
        _pay(xero_client, doc.invoice_id, 1, code="200")
    assert error.value.reason == "Account must be valid."


def test_deleting_a_payment_reopens_the_invoice(xero_client: SdkClient) -> None:
    doc = _invoice(xero_client)
    payment = _pay(xero_client, doc.invoice_id, 120)
    assert _get(xero_client, doc.invoice_id).status == "PAID"
    xero_client.accounting.delete_payment(xero_client.tenant_id, payment.payment_id, {"Status": "DELETED"})
    reopened = _get(xero_client, doc.invoice_id)
    assert (reopened.status, reopened.amount_due) == ("AUTHORISED", Decimal("120.00"))


def test_contact_balances_follow_invoices_payments_and_credit(xero_client: SdkClient) -> None:
    current = _invoice(xero_client, 100)  # due 2026-02-09: overdue by the real clock once that has passed
    future = _invoice(xero_client, 50, due=dt.datetime.now(dt.UTC).date() + dt.timedelta(days=30))
    _pay(xero_client, current.invoice_id, 20)
    note = _credit(xero_client, credit_note(10))  # 12.00 of unallocated credit
    contact = xero_client.accounting.get_contact(xero_client.tenant_id, ACME_ID).contacts[0]
    receivable = contact.balances.accounts_receivable
    assert receivable.outstanding == Decimal("100.00") + Decimal("60.00") - Decimal("12.00")
    overdue = Decimal("100.00") if dt.datetime.now(dt.UTC).date() > dt.date(2026, 2, 9) else Decimal("0.00")
    assert receivable.overdue == overdue
    assert contact.balances.accounts_payable.outstanding == 0
    assert future.amount_due == Decimal("60.00") and note.remaining_credit == Decimal("12.00")
    listed = {c.contact_id: c for c in xero_client.accounting.get_contacts(xero_client.tenant_id, page=1).contacts}
    assert listed[ACME_ID].balances.accounts_receivable.outstanding == receivable.outstanding


def test_credit_note_allocation_reduces_and_can_settle_an_invoice(xero_client: SdkClient) -> None:
    doc = _invoice(xero_client, 20)  # 24.00
    note = _credit(xero_client, credit_note(30))  # 36.00
    assert note.credit_note_number == "CN-0001" and note.total == Decimal("36.00")
    allocation = _allocate(xero_client, note.credit_note_id, doc.invoice_id, 10)
    assert allocation.amount == Decimal("10.00")
    partly = _get(xero_client, doc.invoice_id)
    assert (partly.amount_credited, partly.amount_due, partly.status) == (
        Decimal("10.00"),
        Decimal("14.00"),
        "AUTHORISED",
    )
    assert partly.credit_notes[0].credit_note_id == note.credit_note_id
    _allocate(xero_client, note.credit_note_id, doc.invoice_id, 14)
    assert _get(xero_client, doc.invoice_id).status == "PAID"
    after = xero_client.accounting.get_credit_note(xero_client.tenant_id, note.credit_note_id).credit_notes[0]
    assert after.remaining_credit == Decimal("12.00") and after.status == "AUTHORISED"
    assert len(after.allocations) == 2


def test_allocation_rules(xero_client: SdkClient) -> None:
    doc = _invoice(xero_client, 20)
    draft_note = _credit(xero_client, credit_note(5, status="DRAFT"))
    with pytest.raises(AccountingBadRequestException) as error:
        _allocate(xero_client, draft_note.credit_note_id, doc.invoice_id, 1)
    assert "AUTHORISED" in error.value.reason
    note = _credit(xero_client, credit_note(5))  # 6.00
    with pytest.raises(AccountingBadRequestException):
        _allocate(xero_client, note.credit_note_id, doc.invoice_id, 7)
    other = _credit(xero_client, credit_note(5, contact_id=GLOBEX_ID))
    with pytest.raises(AccountingBadRequestException) as error:
        _allocate(xero_client, other.credit_note_id, doc.invoice_id, 1)
    assert "same contact" in error.value.reason


def test_credit_note_status_update_and_number_in_path(xero_client: SdkClient) -> None:
    note = _credit(xero_client, credit_note(5, status="DRAFT"))
    change = CreditNote(credit_note_id=note.credit_note_id, status="AUTHORISED")
    (updated,) = xero_client.accounting.update_credit_note(
        xero_client.tenant_id, note.credit_note_id, CreditNotes(credit_notes=[change])
    ).credit_notes
    assert updated.status == "AUTHORISED"
    by_number = xero_client.accounting.get_credit_note(xero_client.tenant_id, note.credit_note_number)
    assert by_number.credit_notes[0].credit_note_id == note.credit_note_id
