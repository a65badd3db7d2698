"""What a cancellation in Dynamics does in Xero (mappers/cancellation.py), one test per rule."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from xero_python.accounting import CreditNote, CurrencyCode, LineAmountTypes
from xero_python.accounting import Invoice as XeroInvoice
from xero_python.api_client.serializer import serialize

from app.dynamics_schema import SyncAction, SyncStatus
from mappers.cancellation import (
    CancellationAction,
    build_allocation,
    build_credit_note,
    decide_cancellation,
    status_change,
)
from tests.mappers.helpers import CONTACT_ID, XERO_INVOICE_ID, xero_credit_note, xero_invoice

TODAY = date(2026, 11, 25)


@pytest.mark.parametrize("status", ["DRAFT", "SUBMITTED"])
def test_draft_or_submitted_invoice_is_deleted(status):
    decision = decide_cancellation(xero_invoice(status), create_credit_note=True)
    assert decision.action is CancellationAction.DELETE
    assert (decision.history_action, decision.history_status) == (SyncAction.DELETE, SyncStatus.SUCCESS)
    assert serialize(status_change(xero_invoice(status), decision.action)) == {
        "InvoiceID": XERO_INVOICE_ID,
        "Status": "DELETED",
        "HasAttachments": False,
        "HasErrors": False,
    }


def test_authorised_invoice_with_nothing_paid_is_credited_in_full_and_allocated():
    decision = decide_cancellation(xero_invoice("AUTHORISED"), create_credit_note=True)
    assert decision.action is CancellationAction.CREDIT_AND_ALLOCATE
    assert decision.history_action is SyncAction.CREDIT_NOTE and "applied to the invoice" in decision.details


def test_part_paid_invoice_is_credited_in_full_but_not_allocated():
    decision = decide_cancellation(xero_invoice("AUTHORISED", paid="100.00"), create_credit_note=True)
    assert decision.action is CancellationAction.CREDIT_ONLY
    assert "not applied" in decision.details


def test_fully_paid_invoice_changes_nothing_and_history_says_so():
    decision = decide_cancellation(xero_invoice("PAID", paid="437.40"), create_credit_note=True)
    assert decision.action is CancellationAction.NOTHING
    assert decision.details.startswith("The invoice is fully paid in Xero")


def test_setting_off_changes_nothing_and_history_says_so():
    for status in ("DRAFT", "AUTHORISED"):
        decision = decide_cancellation(xero_invoice(status), create_credit_note=False)
        assert decision.action is CancellationAction.NOTHING
        assert "Create credit note automatically" in decision.details
        assert decision.history_status is SyncStatus.SKIPPED


def test_invoice_never_sent_changes_nothing():
    decision = decide_cancellation(None, create_credit_note=True)
    assert decision.action is CancellationAction.NOTHING and "never sent to Xero" in decision.details


def test_already_voided_invoice_changes_nothing():
    decision = decide_cancellation(xero_invoice("VOIDED"), create_credit_note=True)
    assert decision.action is CancellationAction.NOTHING and "already voided" in decision.details


def test_cancelled_credit_note_is_voided_unless_already_applied():
    assert decide_cancellation(xero_credit_note(), create_credit_note=True).action is CancellationAction.VOID
    assert decide_cancellation(xero_credit_note("DRAFT"), create_credit_note=True).action is CancellationAction.DELETE
    applied = decide_cancellation(xero_credit_note(applied="40.00"), create_credit_note=True)
    assert applied.action is CancellationAction.NOTHING
    body = serialize(status_change(xero_credit_note(), CancellationAction.VOID))
    assert (body["CreditNoteID"], body["Status"]) == ("c5e1d2f3-0000-4000-8000-0000000cc001", "VOIDED")


def test_status_change_refuses_other_actions():
    with pytest.raises(ValueError, match="not a status change"):
        status_change(xero_invoice(), CancellationAction.CREDIT_ONLY)


@pytest.mark.parametrize(("invoice_type", "credit_type"), [("ACCREC", "ACCRECCREDIT"), ("ACCPAY", "ACCPAYCREDIT")])
def test_credit_note_for_the_full_amount_mirrors_the_invoice(invoice_type, credit_type):
    source = xero_invoice(
        "AUTHORISED", type_=invoice_type, line_amount_types=LineAmountTypes.EXCLUSIVE, currency_code=CurrencyCode.GBP
    )
    credit = build_credit_note(source, on=TODAY)
    assert isinstance(credit, CreditNote)
    assert credit.type == credit_type and credit.status == "AUTHORISED"
    assert credit.contact.contact_id == CONTACT_ID and credit.date == TODAY
    assert credit.currency_code is CurrencyCode.GBP and credit.line_amount_types is LineAmountTypes.EXCLUSIVE
    assert [line.description for line in credit.line_items] == [line.description for line in source.line_items]
    net = sum(
        (
            Decimal(str(line.quantity)) * Decimal(str(line.unit_amount))
            for line in credit.line_items
            if line.quantity is not None
        ),
        Decimal(0),
    )
    assert net == Decimal("364.50")  # 50 + 72 (the discounted line at its net amount) + 142.50 + 100
    assert all(line.discount_rate is None for line in credit.line_items)
    assert "INV-01001-K7Q2ZP" in credit.reference


def test_credit_note_keeps_tracking_and_tax_of_each_line():
    credit = build_credit_note(xero_invoice(), on=TODAY)
    gadget = credit.line_items[1]
    assert [(t.name, t.option) for t in gadget.tracking] == [("Region", "North"), ("Department", "Sales")]
    assert gadget.tax_amount == Decimal("14.40") and gadget.account_code == "260"
    assert credit.line_items[3].quantity is None  # the note line stays a note


def test_allocation_applies_the_amount_due_to_the_invoice():
    allocations = build_allocation(xero_invoice("AUTHORISED"), on=TODAY)
    (allocation,) = allocations.allocations
    assert isinstance(allocation.invoice, XeroInvoice) and allocation.invoice.invoice_id == XERO_INVOICE_ID
    assert allocation.amount == Decimal("437.40") and allocation.date == TODAY
