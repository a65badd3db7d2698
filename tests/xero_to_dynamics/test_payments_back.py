"""Payments, statuses, credit notes and balances from sandbox Xero's own signed webhooks into sandbox Dynamics.

Each test changes an invoice in Xero as a Xero user would; the sandbox delivers its webhook to the connector's
intake (a real server), the worker runs the job, and the Dynamics rows are read back.
"""

from __future__ import annotations

from datetime import date, timedelta

from app import dynamics_schema as schema
from app.dynamics_schema import InvoiceType, SyncAction, SyncStatus
from app.queue import QUEUE_MAINTENANCE, xero_resource_scope
from handlers import xero_balances_nightly
from sandbox.dataverse.seed import ACCOUNT_IDS
from sandbox.xero.seed import TENANT_A_ID
from tests.xero_to_dynamics.linked import INITECH


def test_full_payment_in_xero_sets_the_dynamics_invoice_paid(linked):
    invoice_id, document = linked.both_sides("120.00")
    deliveries_before = len(linked.harness.dataverse.deliveries())
    linked.xero_user.pay(document["InvoiceID"], "120.00")
    ran = linked.settle()

    row = linked.harness.invoice_row(invoice_id)
    assert row["statecode"] == 2
    assert row["statuscode"] == 100001
    assert row[schema.INVOICE_XERO_STATUS] == "PAID"
    assert row[schema.INVOICE_AMOUNT_PAID] == 120.0
    assert row[schema.INVOICE_AMOUNT_DUE] == 0.0
    [history] = linked.history(invoice_id)
    assert history[schema.SYNC_HISTORY_ACTION] == SyncAction.PAYMENT
    assert history[schema.SYNC_HISTORY_STATUS] == SyncStatus.SUCCESS
    assert "fully paid in Xero" in history[schema.SYNC_HISTORY_DETAILS]
    assert history[schema.SYNC_HISTORY_XERO_INVOICE_ID] == document["InvoiceID"]
    # The state change fired the invoice's Dataverse webhook, by the connector's own user: the intake's loop
    # guard (CONNECTOR_USER_ID) dropped it, so no sync back to Xero followed.
    fired = linked.harness.dataverse.deliveries()[deliveries_before:]
    assert any(d["entity"] == "invoice" and d["recordid"] == invoice_id for d in fired)
    assert {job.meta["kind"] for job in ran} <= {"xero.invoice", "xero.contact"}


def test_a_payment_removed_in_xero_reopens_the_paid_dynamics_invoice_and_says_so(linked):
    invoice_id, document = linked.both_sides("120.00")
    linked.xero_user.pay(document["InvoiceID"], "70.00")
    payment = linked.xero_user.pay(document["InvoiceID"], "50.00")
    linked.settle()
    assert linked.harness.invoice_row(invoice_id)["statecode"] == 2

    linked.xero_user._send("POST", f"/Payments/{payment['PaymentID']}", {"Payments": [{"Status": "DELETED"}]})
    linked.settle()

    row = linked.harness.invoice_row(invoice_id)
    assert (row["statecode"], row["statuscode"]) == (0, 1), "reopened: money is owed again"
    assert row[schema.INVOICE_XERO_STATUS] == "AUTHORISED"
    assert (row[schema.INVOICE_AMOUNT_PAID], row[schema.INVOICE_AMOUNT_DUE]) == (70.0, 50.0)
    last = linked.history(invoice_id)[-1]
    assert last[schema.SYNC_HISTORY_DETAILS] == (
        f"A payment of 50.00 GBP was removed in Xero from Invoice {document['InvoiceNumber']}; 50.00 GBP now due. "
        "The Dynamics invoice was Paid and is open again."
    )


def test_part_payment_writes_amounts_and_history_and_keeps_the_invoice_active(linked):
    invoice_id, document = linked.both_sides("120.00")
    linked.xero_user.pay(document["InvoiceID"], "50.00")
    linked.settle()

    row = linked.harness.invoice_row(invoice_id)
    assert row["statecode"] == 0
    assert row[schema.INVOICE_XERO_STATUS] == "AUTHORISED"
    assert (row[schema.INVOICE_AMOUNT_PAID], row[schema.INVOICE_AMOUNT_DUE]) == (50.0, 70.0)
    [history] = linked.history(invoice_id)
    assert history[schema.SYNC_HISTORY_DETAILS].startswith("Part payment of 50.00 GBP received in Xero")
    assert "70.00 GBP still due" in history[schema.SYNC_HISTORY_DETAILS]


def test_a_repeated_event_writes_nothing_the_second_time(linked):
    invoice_id, document = linked.both_sides("80.00")
    linked.xero_user.pay(document["InvoiceID"], "30.00")
    linked.settle()
    first = linked.harness.invoice_row(invoice_id)["modifiedon"]

    # Xero delivers at least once: the same event again, as the intake would queue it.
    resource = document["InvoiceID"].lower()
    linked.harness.jobs.submit_coalesced(
        "xero",
        "xero.invoice",
        {
            "tenant_id": TENANT_A_ID,
            "category": "INVOICE",
            "resource_id": resource,
            "connection_id": linked.harness.connection_id,
            "event_type": "UPDATE",
        },
        scope=xero_resource_scope(TENANT_A_ID, "INVOICE", resource),
    )
    ran = linked.settle()

    # The invoice job finds nothing new; the contact's balances are refreshed in a job of their own.
    results = {job.meta["kind"]: job.return_value() for job in ran}
    assert len(ran) == 2
    assert results["xero.invoice"]["result"] == "unchanged"
    assert results["xero.contact"]["result"] == "balances"
    assert results["xero.contact"]["balances_written"] == 0, "the balances were already right"
    assert linked.harness.invoice_row(invoice_id)["modifiedon"] == first
    assert len(linked.history(invoice_id)) == 1


def test_void_in_xero_writes_the_status_and_history(linked):
    invoice_id, document = linked.both_sides("60.00")
    linked.xero_user.void(document["InvoiceID"])
    linked.settle()

    row = linked.harness.invoice_row(invoice_id)
    assert row[schema.INVOICE_XERO_STATUS] == "VOIDED"
    assert row["statecode"] == 0
    [history] = linked.history(invoice_id)
    assert history[schema.SYNC_HISTORY_ACTION] == SyncAction.VOID
    assert history[schema.SYNC_HISTORY_DETAILS] == f"Invoice {document['InvoiceNumber']} was voided in Xero."


def test_credit_note_tells_the_invoice_and_its_credited_amount_comes_back(linked):
    invoice_id, document = linked.both_sides("100.00")
    note = linked.xero_user.credit(document["InvoiceID"], "25.00")
    linked.settle()

    row = linked.harness.invoice_row(invoice_id)
    assert (row[schema.INVOICE_AMOUNT_CREDITED], row[schema.INVOICE_AMOUNT_DUE]) == (25.0, 75.0)
    [history] = linked.history(invoice_id)
    assert history[schema.SYNC_HISTORY_ACTION] == SyncAction.CREDIT_NOTE
    assert history[schema.SYNC_HISTORY_DETAILS] == (
        f"Credit note {note['CreditNoteNumber']} (Paid, total 25.00 GBP) in Xero: 25.00 GBP allocated to this invoice."
    )
    assert [r["credit_note"] for r in linked.xero_results("xero.creditnote")] == ["not_in_dynamics"]


def test_a_dynamics_credit_note_gets_its_xero_credit_notes_status_and_amounts(linked):
    _, document = linked.both_sides("100.00")
    note = linked.xero_user.credit_note("30.00")
    credit_row = linked.dynamics_row(
        note["CreditNoteID"],
        note["CreditNoteNumber"],
        note["Status"],
        due=note["RemainingCredit"],
        invoice_type=InvoiceType.SALES_CREDIT_NOTE,
    )
    linked.xero_user.allocate(note["CreditNoteID"], document["InvoiceID"], "30.00")
    linked.settle()

    row = linked.harness.invoice_row(credit_row)
    assert row[schema.INVOICE_XERO_STATUS] == "PAID"
    assert (row[schema.INVOICE_AMOUNT_CREDITED], row[schema.INVOICE_AMOUNT_DUE]) == (30.0, 0.0)
    assert row["statecode"] == 2
    assert [r["credit_note"] for r in linked.xero_results("xero.creditnote")][-1] == "paid"


def test_the_nightly_refresh_ages_overdue_amounts_without_any_xero_event(linked):
    linked.both_sides("120.00", due=date.today() + timedelta(days=3))
    assert linked.customer()[schema.CUSTOMER_OVERDUE] == 0.0
    linked.harness.xero.advance_clock(5 * 24 * 3600)  # five days on: due, and nothing happened in Xero

    job = linked.harness.jobs.submit(QUEUE_MAINTENANCE, xero_balances_nightly.KIND, {})
    ran = linked.settle()

    [result] = [j.return_value() for j in ran if j.id == job.job_id]
    [connection] = result["connections"]
    assert connection["contacts_read"] >= 1 and connection["balances_written"] >= 1
    assert linked.customer()[schema.CUSTOMER_OVERDUE] == 120.0
    assert linked.customer()[schema.CUSTOMER_OUTSTANDING] == 120.0
    again = linked.harness.jobs.submit(QUEUE_MAINTENANCE, xero_balances_nightly.KIND, {})
    [second] = [j.return_value() for j in linked.settle() if j.id == again.job_id]
    assert second["connections"][0]["balances_written"] == 0, "only what changed is written"


def test_balances_follow_invoices_and_payments_into_the_linked_account(linked):
    linked.both_sides("120.00")
    assert linked.customer()[schema.CUSTOMER_OUTSTANDING] == 120.0
    assert linked.customer()[schema.CUSTOMER_OVERDUE] == 0.0

    _, document = linked.both_sides("40.00")
    linked.xero_user.pay(document["InvoiceID"], "10.00")
    linked.settle()
    assert linked.customer()[schema.CUSTOMER_OUTSTANDING] == 150.0


def test_an_invoice_created_directly_in_xero_is_left_alone(linked):
    document = linked.xero_user.invoice("99.00")
    linked.settle()

    [result] = [r for r in linked.xero_results() if r.get("resource_id") == document["InvoiceID"].lower()]
    assert result["result"] == "not_in_dynamics"
    assert (
        linked.harness.connector.rows(
            "invoices", **{"$filter": f"{schema.INVOICE_XERO_INVOICE_ID} eq '{document['InvoiceID']}'"}
        )
        == []
    )


def test_a_supplier_only_contact_gets_its_payable_balance(linked):
    supplier_account = ACCOUNT_IDS[1]
    linked.harness.connector.update("accounts", supplier_account, {schema.CUSTOMER_XERO_CONTACT_ID: INITECH})
    linked.xero_user.invoice("300.00", contact_id=INITECH, invoice_type="ACCPAY")
    linked.settle()

    account = linked.harness.connector.get("accounts", supplier_account)
    assert account[schema.CUSTOMER_OUTSTANDING] == 300.0
