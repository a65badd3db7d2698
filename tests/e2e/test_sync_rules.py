"""The sync rules users rely on, each from a change in the sandbox Dynamics to both sandboxes' state."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from app import dynamics_schema as schema
from app import jobs as jobs_cli
from app.dynamics_schema import DefaultInvoiceStatus, ExportStatus, SyncAction, SyncStatus
from sandbox.dataverse.seed import ACCOUNT_IDS
from tests.e2e.harness import xero_call

LONDON = ZoneInfo("Europe/London")


def details(rows):
    return [row[schema.SYNC_HISTORY_DETAILS] for row in rows]


def test_an_invoice_without_lines_is_not_sent_and_the_history_says_why(harness):
    invoice_id = harness.new_invoice(lines=0)
    harness.drain()

    assert harness.xero_invoices() == [] or all(
        i["Reference"] != "Consulting for Contoso" for i in harness.xero_invoices()
    )
    [history] = harness.history(invoice_id)
    assert history[schema.SYNC_HISTORY_STATUS] == SyncStatus.SKIPPED
    assert "no products" in history[schema.SYNC_HISTORY_DETAILS]
    assert harness.invoice_row(invoice_id)[schema.INVOICE_EXPORT_STATUS] in (None, ExportStatus.NO)

    harness.person.update("invoices", invoice_id, {"name": "Consulting, renamed"})
    harness.drain()
    assert len(harness.history(invoice_id)) == 1, "the same reason is told once"
    harness.new_line(invoice_id)
    harness.drain()
    assert [h[schema.SYNC_HISTORY_STATUS] for h in harness.history(invoice_id)] == [
        SyncStatus.SKIPPED,
        SyncStatus.SUCCESS,
    ]


def test_an_invoice_delivered_in_the_future_waits_for_that_day_in_the_connections_time_zone(harness):
    day = date.today() + timedelta(days=3)
    invoice_id = harness.new_invoice(delivered=day)
    harness.drain()

    deferred = [r for r in harness.results() if r.get("outcome") == "deferred"]
    assert deferred, harness.results()
    assert datetime.fromisoformat(deferred[-1]["until"]) == datetime(day.year, day.month, day.day, tzinfo=LONDON)
    assert [job.args[1]["invoice_id"] for job in harness.scheduled()] == [invoice_id]
    assert harness.xero_invoices(harness.invoice_row(invoice_id)["invoicenumber"]) == []
    [history] = harness.history(invoice_id)
    assert history[schema.SYNC_HISTORY_STATUS] == SyncStatus.INFORMATION
    assert f"The delivery date is {day:%d %B %Y}" in history[schema.SYNC_HISTORY_DETAILS]

    harness.person.update("invoices", invoice_id, {"name": "Consulting, renamed"})
    harness.drain()
    assert len(harness.history(invoice_id)) == 1, "the same wait is told once"
    assert len(harness.scheduled()) == 1


def test_with_contact_creation_off_a_missing_contact_fails_until_the_user_asks_again(harness):
    harness.set_connection_settings(**{schema.CONNECTION_CREATE_CONTACTS: False})
    invoice_id = harness.new_invoice(account=ACCOUNT_IDS[1])
    harness.drain()

    row = harness.invoice_row(invoice_id)
    assert row[schema.INVOICE_EXPORT_STATUS] == ExportStatus.FAILED
    [history] = harness.history(invoice_id)
    assert history[schema.SYNC_HISTORY_STATUS] == SyncStatus.FAILED
    assert "Fabrikam Inc" in history[schema.SYNC_HISTORY_DETAILS]
    assert '"Create new contacts in Xero" is off' in history[schema.SYNC_HISTORY_DETAILS]
    assert [j.args[1]["invoice_id"] for j in harness.failed()] == [invoice_id]
    assert not [c for c in harness.xero_state()["Contacts"] if c["Name"] == "Fabrikam Inc"]

    # The admin turns the setting on and the user asks for a retry by setting the export status back to No.
    harness.set_connection_settings(**{schema.CONNECTION_CREATE_CONTACTS: True})
    harness.person.update("invoices", invoice_id, {schema.INVOICE_EXPORT_STATUS: int(ExportStatus.NO)})
    harness.drain()

    row = harness.invoice_row(invoice_id)
    assert row[schema.INVOICE_EXPORT_STATUS] == ExportStatus.YES
    [contact] = [c for c in harness.xero_state()["Contacts"] if c["Name"] == "Fabrikam Inc"]
    account = harness.connector.get("accounts", ACCOUNT_IDS[1])
    assert account[schema.CUSTOMER_XERO_CONTACT_ID] == contact["ContactID"]
    assert [h[schema.SYNC_HISTORY_STATUS] for h in harness.history(invoice_id)] == [
        SyncStatus.FAILED,
        SyncStatus.SUCCESS,
    ]


def test_while_unpaid_the_xero_invoice_follows_dynamics_and_keeps_its_line_ids(harness):
    invoice_id = harness.new_invoice()
    harness.drain()
    number = harness.invoice_row(invoice_id)["invoicenumber"]
    [before] = harness.xero_invoices(number)

    widget = harness.connector.rows(
        "invoicedetails", **{"$filter": f"_invoiceid_value eq {invoice_id}", "$orderby": "lineitemnumber asc"}
    )[0]
    harness.person.update("invoicedetails", widget["invoicedetailid"], {"quantity": 10})
    harness.drain()

    [after] = harness.xero_invoices(number)
    assert after["InvoiceID"] == before["InvoiceID"]
    widget_line = next(line for line in after["LineItems"] if line["Description"] == "Widget")
    assert float(widget_line["Quantity"]) == 10
    assert {line["LineItemID"] for line in after["LineItems"]} == {line["LineItemID"] for line in before["LineItems"]}
    history = harness.history(invoice_id)
    assert [h[schema.SYNC_HISTORY_ACTION] for h in history] == [SyncAction.CREATE, SyncAction.UPDATE]
    assert harness.invoice_row(invoice_id)[schema.INVOICE_AMOUNT_DUE] == float(after["AmountDue"])


def cancel(harness, invoice_id):
    harness.person.update("invoices", invoice_id, {"statecode": 3})
    harness.drain()


def test_cancelling_a_draft_deletes_it_in_xero(harness):
    invoice_id = harness.new_invoice()
    harness.drain()
    number = harness.invoice_row(invoice_id)["invoicenumber"]
    cancel(harness, invoice_id)

    assert harness.xero_invoices(number)[0]["Status"] == "DELETED"
    last = harness.history(invoice_id)[-1]
    assert last[schema.SYNC_HISTORY_ACTION] == SyncAction.DELETE
    assert "draft invoice was deleted in Xero" in last[schema.SYNC_HISTORY_DETAILS]
    row = harness.invoice_row(invoice_id)
    assert row[schema.INVOICE_XERO_STATUS] == "DELETED", "the row shows what Xero holds"
    assert (row["statecode"], row["statuscode"]) == (3, 100003), "and is cancelled again"


def authorised_invoice(harness):
    harness.set_connection_settings(**{schema.CONNECTION_DEFAULT_INVOICE_STATUS: int(DefaultInvoiceStatus.AUTHORISED)})
    invoice_id = harness.new_invoice(due=date.today() + timedelta(days=30))
    harness.drain()
    number = harness.invoice_row(invoice_id)["invoicenumber"]
    [xero_invoice] = harness.xero_invoices(number)
    assert xero_invoice["Status"] == "AUTHORISED"
    return invoice_id, xero_invoice


def test_cancelling_an_authorised_invoice_credits_it_in_full_and_applies_the_credit(harness):
    invoice_id, xero_invoice = authorised_invoice(harness)
    cancel(harness, invoice_id)

    [credit] = [c for c in harness.xero_state()["CreditNotes"]]
    assert credit["Status"] == "PAID"
    assert float(credit["Total"]) == float(xero_invoice["Total"])
    assert harness.xero_invoices(xero_invoice["InvoiceNumber"])[0]["Status"] == "PAID"
    last = harness.history(invoice_id)[-1]
    assert last[schema.SYNC_HISTORY_ACTION] == SyncAction.CREDIT_NOTE
    assert "applied to the invoice" in last[schema.SYNC_HISTORY_DETAILS]
    row = harness.invoice_row(invoice_id)
    assert (row[schema.INVOICE_XERO_STATUS], row[schema.INVOICE_AMOUNT_DUE]) == ("PAID", 0.0)
    assert row[schema.INVOICE_AMOUNT_CREDITED] == float(xero_invoice["Total"])
    assert row["statecode"] == 3


def test_cancelling_a_part_paid_invoice_credits_it_in_full_without_applying_the_credit(harness):
    invoice_id, xero_invoice = authorised_invoice(harness)
    xero_call(
        harness,
        "PUT",
        "Payments",
        {
            "Payments": [
                {
                    "Invoice": {"InvoiceID": xero_invoice["InvoiceID"]},
                    "Account": {"Code": "090"},
                    "Amount": 10,
                    "Date": date.today().isoformat(),
                }
            ]
        },
    )
    cancel(harness, invoice_id)

    [credit] = harness.xero_state()["CreditNotes"]
    assert credit["Status"] == "AUTHORISED" and float(credit["RemainingCredit"]) == float(xero_invoice["Total"])
    assert "part paid in Xero" in details(harness.history(invoice_id))[-1]
    row = harness.invoice_row(invoice_id)
    assert (row[schema.INVOICE_XERO_STATUS], row[schema.INVOICE_AMOUNT_PAID]) == ("AUTHORISED", 10.0)
    assert row[schema.INVOICE_AMOUNT_DUE] == float(xero_invoice["Total"]) - 10


def test_a_credit_note_whose_answer_was_lost_is_found_not_created_again(harness):
    invoice_id, xero_invoice = authorised_invoice(harness)
    harness.xero.set_faults(drop_next=1)
    harness.person.update("invoices", invoice_id, {"statecode": 3})
    harness.drain()
    assert [r.get("outcome") for r in harness.results()][-1] == "retry_scheduled"
    assert len(harness.xero_state()["CreditNotes"]) == 1, "Xero committed the credit note whose answer was lost"

    harness.run_due_now()
    [credit] = harness.xero_state()["CreditNotes"]
    assert credit["Status"] == "PAID", "the one credit note was applied to the invoice"
    assert harness.xero_invoices(xero_invoice["InvoiceNumber"])[0]["Status"] == "PAID"
    assert "applied to the invoice" in details(harness.history(invoice_id))[-1]


def test_cancelling_a_paid_invoice_changes_nothing_in_xero(harness):
    invoice_id, xero_invoice = authorised_invoice(harness)
    xero_call(
        harness,
        "PUT",
        "Payments",
        {
            "Payments": [
                {
                    "Invoice": {"InvoiceID": xero_invoice["InvoiceID"]},
                    "Account": {"Code": "090"},
                    "Amount": float(xero_invoice["AmountDue"]),
                    "Date": date.today().isoformat(),
                }
            ]
        },
    )
    cancel(harness, invoice_id)

    assert harness.xero_state()["CreditNotes"] == []
    last = harness.history(invoice_id)[-1]
    assert last[schema.SYNC_HISTORY_STATUS] == SyncStatus.INFORMATION
    assert "The invoice is fully paid in Xero" in last[schema.SYNC_HISTORY_DETAILS]


def test_with_credit_notes_off_a_cancellation_changes_nothing_and_says_so(harness):
    harness.set_connection_settings(**{schema.CONNECTION_CREATE_CREDIT_NOTE: False})
    invoice_id = harness.new_invoice()
    harness.drain()
    number = harness.invoice_row(invoice_id)["invoicenumber"]
    cancel(harness, invoice_id)

    assert harness.xero_invoices(number)[0]["Status"] == "DRAFT"
    assert "Create credit note automatically" in details(harness.history(invoice_id))[-1]


def test_a_deleted_invoice_is_cancelled_from_its_pre_image(harness):
    invoice_id = harness.new_invoice()
    harness.drain()
    number = harness.invoice_row(invoice_id)["invoicenumber"]
    harness.person.delete("invoices", invoice_id)
    harness.drain()

    assert harness.xero_invoices(number)[0]["Status"] == "DELETED"
    [delete_result] = harness.results("invoice.delete")
    assert delete_result["result"] == "cancel:delete"
    told = [h for h in harness.history() if f"Dynamics invoice {number}" in h[schema.SYNC_HISTORY_DETAILS]]
    assert len(told) == 1
    assert told[0][f"_{schema.SYNC_HISTORY_CONNECTION}_value"] == harness.connection_id
    assert "was deleted in Xero" in told[0][schema.SYNC_HISTORY_DETAILS]


def test_requeue_of_a_failed_sync_resets_the_invoice_the_way_a_person_would(harness, capsys):
    harness.set_connection_settings(**{schema.CONNECTION_CREATE_CONTACTS: False})
    invoice_id = harness.new_invoice(account=ACCOUNT_IDS[1])
    harness.drain()
    [failed] = harness.failed()
    assert harness.invoice_row(invoice_id)[schema.INVOICE_EXPORT_STATUS] == ExportStatus.FAILED

    # The admin fixes the cause, then requeues the failed job instead of editing the invoice.
    harness.set_connection_settings(**{schema.CONNECTION_CREATE_CONTACTS: True})
    assert jobs_cli.main(["requeue", failed.id]) == 0
    assert "export status set back to No" in capsys.readouterr().out
    assert harness.invoice_row(invoice_id)[schema.INVOICE_EXPORT_STATUS] == ExportStatus.NO, "never sent: No"
    assert harness.failed() == []

    harness.drain()
    assert harness.invoice_row(invoice_id)[schema.INVOICE_EXPORT_STATUS] == ExportStatus.YES
    assert [h[schema.SYNC_HISTORY_STATUS] for h in harness.history(invoice_id)][-1] == SyncStatus.SUCCESS
