"""Xero's webhook echo of the connector's own write costs no Xero call; a later change by a Xero user still does."""

from __future__ import annotations

from datetime import date, timedelta

from app import dynamics_schema as schema
from app.dynamics_schema import DefaultInvoiceStatus, InvoiceType
from sandbox.xero.seed import TENANT_A_ID


def invoice_reads(linked) -> int:
    return linked.harness.xero.calls()[TENANT_A_ID]["endpoints"].get("GET Invoices", 0)


def test_the_echo_of_our_own_write_is_not_read_back_but_a_payment_after_it_is(linked):
    linked.harness.set_connection_settings(
        **{schema.CONNECTION_DEFAULT_INVOICE_STATUS: int(DefaultInvoiceStatus.AUTHORISED)}
    )
    linked.harness.drain()
    invoice_id = linked.harness.new_invoice(due=date.today() + timedelta(days=30))
    linked.harness.drain()  # the sync
    linked.settle()  # Xero's echo of its create
    row = linked.harness.invoice_row(invoice_id)
    xero_id = row[schema.INVOICE_XERO_INVOICE_ID]
    assert row[schema.INVOICE_XERO_STATUS] == "AUTHORISED"

    echoes = [r for r in linked.xero_results() if r.get("resource_id") == xero_id.lower()]
    assert [r["result"] for r in echoes] == ["own_write"]
    assert echoes[0]["balances_job"], "an approved invoice still refreshes the customer's balances"
    assert invoice_reads(linked) == 0

    linked.harness.xero.advance_clock(5)  # a Xero user pays a few seconds later
    linked.xero_user.pay(xero_id, "1.00")
    linked.settle()
    assert invoice_reads(linked) == 1
    assert linked.harness.invoice_row(invoice_id)[schema.INVOICE_AMOUNT_PAID] == 1.0


def test_a_payment_right_after_our_write_is_not_mistaken_for_its_echo(linked):
    linked.harness.set_connection_settings(
        **{schema.CONNECTION_DEFAULT_INVOICE_STATUS: int(DefaultInvoiceStatus.AUTHORISED)}
    )
    linked.harness.drain()
    invoice_id = linked.harness.new_invoice(due=date.today() + timedelta(days=30))
    linked.harness.drain()  # the sync: its echo is on its way
    xero_id = linked.harness.invoice_row(invoice_id)[schema.INVOICE_XERO_INVOICE_ID]
    linked.xero_user.pay(xero_id, "2.00")  # within the echo window, with no clock advanced
    linked.settle()

    assert linked.harness.invoice_row(invoice_id)[schema.INVOICE_AMOUNT_PAID] == 2.0
    assert invoice_reads(linked) >= 1


def test_the_echo_of_a_credit_note_we_created_is_not_read_back(linked):
    invoice_id = linked.harness.new_invoice(invoice_type=InvoiceType.SALES_CREDIT_NOTE)
    linked.harness.drain()  # the sync creates the credit note in Xero
    xero_id = linked.harness.invoice_row(invoice_id)[schema.INVOICE_XERO_INVOICE_ID]
    linked.settle()  # its echo

    echoes = [r for r in linked.xero_results("xero.creditnote") if r.get("resource_id") == xero_id.lower()]
    assert [r["result"] for r in echoes] == ["own_write"]
    assert linked.harness.xero.calls()[TENANT_A_ID]["endpoints"].get("GET CreditNotes", 0) == 0
