"""The pure decisions of mappers/xero_to_dynamics.py: what a Xero change writes into Dynamics, if anything."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from xero_python.accounting import (
    AccountsPayable,
    AccountsReceivable,
    Allocation,
    Balances,
    Contact,
    CreditNote,
    CurrencyCode,
)
from xero_python.accounting import Invoice as XeroInvoice

from app import dynamics_schema as schema
from app.dynamics_schema import SyncAction
from mappers.dynamics import CustomerKind, InvoiceState
from mappers.xero_to_dynamics import (
    LinkedCustomer,
    LinkedInvoice,
    balance_patch,
    contact_balance,
    credit_allocations,
    credit_note_fingerprint,
    invoice_writeback,
    linked_invoice_filter,
    reconcile_window,
    unsynced_invoices_filter,
)

DYNAMICS_ID = "7d1f2a5c-8b3e-ef11-8409-000d3a4b7a1c"
XERO_ID = "0b9f5e4a-7c6d-4e3f-9a8b-1c2d3e4f5a6b"
CONNECTION = "5c0e0a5e-0000-4000-8000-0000000000aa"


def linked_invoice(
    status: str = "AUTHORISED",
    due: str = "120",
    paid: str = "0",
    credited: str = "0",
    state: InvoiceState = InvoiceState.ACTIVE,
) -> LinkedInvoice:
    return LinkedInvoice.from_row(
        {
            "invoiceid": DYNAMICS_ID,
            "invoicenumber": "INV-01001",
            "statecode": int(state),
            "statuscode": 1,
            f"_{schema.INVOICE_CONNECTION}_value": CONNECTION,
            schema.INVOICE_XERO_INVOICE_ID: XERO_ID,
            schema.INVOICE_XERO_STATUS: status,
            schema.INVOICE_AMOUNT_DUE: float(due),
            schema.INVOICE_AMOUNT_PAID: float(paid),
            schema.INVOICE_AMOUNT_CREDITED: float(credited),
        }
    )


def xero(status: str = "AUTHORISED", due: str = "120", paid: str = "0", credited: str = "0") -> XeroInvoice:
    return XeroInvoice(
        invoice_id=XERO_ID,
        invoice_number="INV-0007",
        type="ACCREC",
        status=status,
        amount_due=Decimal(due),
        amount_paid=Decimal(paid),
        amount_credited=Decimal(credited),
        currency_code=CurrencyCode.GBP,
    )


def test_nothing_is_written_when_dynamics_already_shows_xeros_state():
    plan = invoice_writeback(linked_invoice(), xero())
    assert not plan.changed
    assert not plan.closed


def test_a_part_payment_writes_amounts_and_tells_how_much_arrived():
    plan = invoice_writeback(linked_invoice(paid="20", due="100"), xero(paid="50", due="70"))
    [patch] = plan.patches
    assert patch.body[schema.INVOICE_AMOUNT_PAID] == 50.0
    assert patch.body[schema.INVOICE_AMOUNT_DUE] == 70.0
    assert plan.state_patch is None
    assert plan.history is not None and plan.history.action is SyncAction.PAYMENT
    assert plan.history.details == (
        "Part payment of 30.00 GBP received in Xero for Invoice INV-0007; 70.00 GBP still due."
    )


def test_full_payment_sets_paid_alone_after_the_amounts():
    plan = invoice_writeback(linked_invoice(), xero(status="PAID", paid="120", due="0"))
    assert plan.patches[0].body[schema.INVOICE_XERO_STATUS] == "PAID"
    assert plan.state_patch is not None
    assert dict(plan.state_patch.body) == {"statecode": 2, "statuscode": 100001}
    assert plan.history is not None
    assert plan.history.details.startswith("Invoice INV-0007 is fully paid in Xero (paid 120.00 GBP)")


def test_a_retry_after_the_amounts_only_sets_the_state_without_a_second_history_row():
    current = linked_invoice(status="PAID", due="0", paid="120")
    plan = invoice_writeback(current, xero(status="PAID", paid="120", due="0"))
    assert plan.patches == ()
    assert plan.state_patch is not None
    assert plan.history is None


def test_a_paid_invoice_already_paid_in_dynamics_is_quiet():
    current = linked_invoice(status="PAID", due="0", paid="120", state=InvoiceState.PAID)
    assert not invoice_writeback(current, xero(status="PAID", paid="120", due="0")).changed


def test_a_closed_invoice_gets_xeros_figures_and_keeps_its_state():
    current = linked_invoice(state=InvoiceState.CANCELED)
    plan = invoice_writeback(current, xero(status="PAID", due="0", credited="120"))
    assert plan.closed and plan.state_patch is None, "a cancelled invoice is never made Paid"
    assert plan.patches[0].body[schema.INVOICE_XERO_STATUS] == "PAID"
    assert plan.patches[0].body[schema.INVOICE_AMOUNT_CREDITED] == 120.0
    assert plan.history is not None and plan.history.details == (
        "Invoice INV-0007 is PAID in Xero (due 0.00 GBP, paid 0.00 GBP, credited 120.00 GBP). "
        "The Dynamics invoice stays cancelled and shows these figures."
    )


def test_a_closed_invoice_already_showing_xeros_figures_is_quiet():
    current = linked_invoice(status="PAID", due="0", paid="120", state=InvoiceState.CANCELED)
    assert not invoice_writeback(current, xero(status="PAID", paid="120", due="0")).changed


@pytest.mark.parametrize(("status", "action"), [("VOIDED", SyncAction.VOID), ("DELETED", SyncAction.DELETE)])
def test_void_and_delete_write_the_status_and_a_history_row(status, action):
    plan = invoice_writeback(linked_invoice(), xero(status=status, due="0"))
    assert plan.patches[0].body[schema.INVOICE_XERO_STATUS] == status
    assert plan.history is not None and plan.history.action is action
    assert plan.history.details == f"Invoice INV-0007 was {status.lower()} in Xero."


def test_an_approval_in_xero_is_a_status_change_with_history():
    plan = invoice_writeback(linked_invoice(status="DRAFT"), xero(status="AUTHORISED"))
    assert plan.history is not None and plan.history.action is SyncAction.STATUS
    assert "now Authorised in Xero (was Draft)" in plan.history.details


def test_a_credited_amount_alone_is_written_without_history():
    plan = invoice_writeback(linked_invoice(), xero(credited="20", due="100"))
    assert plan.patches and plan.history is None


def test_credit_allocations_are_summed_per_invoice_and_fingerprinted():
    on = date(2026, 11, 22)
    note = CreditNote(
        credit_note_id="c-1",
        status="AUTHORISED",
        total=Decimal("50"),
        allocations=[
            Allocation(invoice=XeroInvoice(invoice_id="A-1"), amount=Decimal("10"), date=on),
            Allocation(invoice=XeroInvoice(invoice_id="a-1"), amount=Decimal("15"), date=on),
            Allocation(invoice=XeroInvoice(invoice_id="b-2"), amount=Decimal("5"), date=on, is_deleted=True),
        ],
    )
    assert [(a.invoice_xero_id, a.amount) for a in credit_allocations(note)] == [("a-1", Decimal("25"))]
    assert credit_note_fingerprint(note) == "AUTHORISED|50.00|a-1=25.00"


def _contact(*, supplier: bool, customer: bool) -> Contact:
    return Contact(
        contact_id="x",
        is_supplier=supplier,
        is_customer=customer,
        balances=Balances(
            accounts_receivable=AccountsReceivable(outstanding=120.5, overdue=20),
            accounts_payable=AccountsPayable(outstanding=300, overdue=0),
        ),
    )


def test_balances_come_from_receivables_unless_the_contact_is_only_a_supplier():
    assert contact_balance(_contact(supplier=False, customer=True)).outstanding == Decimal("120.5")
    assert contact_balance(_contact(supplier=True, customer=True)).overdue == Decimal("20")
    assert contact_balance(_contact(supplier=True, customer=False)).outstanding == Decimal("300")
    assert contact_balance(Contact(contact_id="x")).outstanding == 0


def test_a_balance_is_patched_only_when_it_differs():
    balance = contact_balance(_contact(supplier=False, customer=True))
    same = LinkedCustomer(CustomerKind.ACCOUNT, "acc-1", Decimal("120.50"), Decimal("20.00"))
    assert balance_patch(same, balance) is None
    patch = balance_patch(LinkedCustomer(CustomerKind.CONTACT, "con-1", None, None), balance)
    assert patch is not None
    assert (patch.entity_set, patch.row_id) == ("contacts", "con-1")
    assert dict(patch.body) == {schema.CUSTOMER_OUTSTANDING: 120.5, schema.CUSTOMER_OVERDUE: 20.0}


def test_filters_quote_xero_ids_and_refuse_anything_but_a_guid_for_the_connection():
    assert linked_invoice_filter(["a'b", "a'b", "c"]) == (
        f"{schema.INVOICE_XERO_INVOICE_ID} eq 'a''b' or {schema.INVOICE_XERO_INVOICE_ID} eq 'c'"
    )
    since = datetime(2026, 11, 22, 8, 0, 5, tzinfo=UTC)
    text = unsynced_invoices_filter(CONNECTION.upper(), since)
    assert f"_{schema.INVOICE_CONNECTION}_value eq {CONNECTION} and" in text
    assert f"{schema.INVOICE_EXPORT_STATUS} eq 100000000 or {schema.INVOICE_EXPORT_STATUS} eq 100000003" in text
    assert text.endswith("modifiedon ge 2026-11-22T08:00:05Z")
    with pytest.raises(ValueError):
        unsynced_invoices_filter("1 eq 1 or x", since)


def test_the_window_overlaps_the_last_pass_and_the_first_looks_back_one_period():
    now = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)
    first = reconcile_window(None, now, interval_seconds=300, overlap_seconds=120)
    assert (first.since, first.until, first.first_pass) == (now - timedelta(seconds=420), now, True)
    later = reconcile_window(now - timedelta(seconds=300), now, interval_seconds=300, overlap_seconds=120)
    assert later.since == now - timedelta(seconds=420)
    assert not later.first_pass
