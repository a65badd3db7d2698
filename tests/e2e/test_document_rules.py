"""Document rules end to end: types, items, updates once Xero has moved on, and Xero's own validation."""

from __future__ import annotations

from datetime import date, timedelta

from app import dynamics_schema as schema
from app.dynamics_schema import DefaultInvoiceStatus, ExportStatus, InvoiceType, SyncStatus, TotalsStatus
from tests.e2e.harness import xero_call


def authorised(harness, **invoice) -> tuple[str, dict]:
    harness.set_connection_settings(**{schema.CONNECTION_DEFAULT_INVOICE_STATUS: int(DefaultInvoiceStatus.AUTHORISED)})
    invoice_id = harness.new_invoice(due=date.today() + timedelta(days=30), **invoice)
    harness.drain()
    [xero_invoice] = harness.xero_invoices(harness.invoice_row(invoice_id)["invoicenumber"])
    return invoice_id, xero_invoice


def test_an_invoice_voided_in_xero_is_left_alone_and_the_history_says_why(harness):
    invoice_id, xero_invoice = authorised(harness)
    xero_call(
        harness,
        "POST",
        f"Invoices/{xero_invoice['InvoiceID']}",
        {"Invoices": [{"InvoiceID": xero_invoice["InvoiceID"], "Status": "VOIDED"}]},
    )
    harness.person.update("invoices", invoice_id, {"name": "Consulting, corrected"})
    harness.drain()

    [after] = harness.xero_invoices(xero_invoice["InvoiceNumber"])
    assert after["Status"] == "VOIDED" and after["Reference"] == "Consulting for Contoso"
    last = harness.history(invoice_id)[-1]
    assert last[schema.SYNC_HISTORY_STATUS] == SyncStatus.SKIPPED
    assert "the invoice was voided there" in last[schema.SYNC_HISTORY_DETAILS]
    assert harness.invoice_row(invoice_id)[schema.INVOICE_XERO_STATUS] == "VOIDED"


def test_once_part_paid_only_what_xero_still_allows_is_updated_and_the_rest_is_listed(harness):
    invoice_id, xero_invoice = authorised(harness)
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
    harness.person.update("invoices", invoice_id, {"name": "Consulting, corrected"})
    widget = harness.connector.rows(
        "invoicedetails", **{"$filter": f"_invoiceid_value eq {invoice_id}", "$orderby": "lineitemnumber asc"}
    )[0]
    harness.person.update("invoicedetails", widget["invoicedetailid"], {"quantity": 9})
    harness.drain()

    [after] = harness.xero_invoices(xero_invoice["InvoiceNumber"])
    assert after["Reference"] == "Consulting, corrected"
    assert float(after["Total"]) == float(xero_invoice["Total"])
    last = harness.history(invoice_id)[-1]
    # Dynamics now asks for more than Xero holds: never a plain Success, and the invoice says so too.
    assert last[schema.SYNC_HISTORY_STATUS] == SyncStatus.TOTALS_DIFFER
    details = last[schema.SYNC_HISTORY_DETAILS]
    assert "Changes to quantities, prices, discounts or tax were not sent." in details
    row = harness.invoice_row(invoice_id)
    assert row[schema.INVOICE_AMOUNT_PAID] == 10.0
    assert row[schema.INVOICE_TOTALS_STATUS] == TotalsStatus.DIFFER
    assert row[schema.INVOICE_XERO_TOTAL] == float(after["Total"])
    words = f"Total: Xero {float(after['Total']):,.2f}, Dynamics {row['totalamount']:,.2f}"
    assert words in details and words in row[schema.INVOICE_TOTALS_DIFFERENCE]
    assert "Xero kept the amounts of the paid invoice" in row[schema.INVOICE_TOTALS_DIFFERENCE]


def test_a_sales_credit_note_becomes_a_credit_note_in_xero(harness):
    invoice_id = harness.new_invoice(invoice_type=InvoiceType.SALES_CREDIT_NOTE)
    harness.drain()

    row = harness.invoice_row(invoice_id)
    [credit] = harness.xero_state()["CreditNotes"]
    assert credit["Type"] == "ACCRECCREDIT"
    assert credit["CreditNoteNumber"] == row["invoicenumber"]
    assert row[schema.INVOICE_XERO_INVOICE_ID] == credit["CreditNoteID"]
    assert "ViewCreditNote.aspx" in row[schema.INVOICE_XERO_LINK]
    assert "Credit note" in harness.history(invoice_id)[-1][schema.SYNC_HISTORY_DETAILS]


def test_a_purchase_invoice_becomes_a_bill_on_the_purchase_account(harness):
    invoice_id = harness.new_invoice(invoice_type=InvoiceType.PURCHASE_INVOICE)
    harness.drain()

    row = harness.invoice_row(invoice_id)
    [bill] = [i for i in harness.xero_invoices() if i["InvoiceID"] == row[schema.INVOICE_XERO_INVOICE_ID]]
    assert bill["Type"] == "ACCPAY"
    assert {line["AccountCode"] for line in bill["LineItems"]} == {"300"}
    assert row[schema.INVOICE_EXPORT_STATUS] == ExportStatus.YES


def test_with_item_creation_on_the_products_item_is_created_and_used(harness):
    harness.set_connection_settings(**{schema.CONNECTION_CREATE_ITEMS: True})
    invoice_id = harness.new_invoice()
    harness.drain()

    assert [i for i in harness.xero_state()["Items"] if i["Code"] == "WIDGET-001"]
    [xero_invoice] = harness.xero_invoices(harness.invoice_row(invoice_id)["invoicenumber"])
    assert [line.get("ItemCode") for line in xero_invoice["LineItems"]] == ["WIDGET-001", None]


def test_xeros_validation_message_reaches_the_history_and_the_invoice_is_marked_failed(harness):
    harness.set_connection_settings(**{schema.CONNECTION_DEFAULT_SALES_ACCOUNT_CODE: "205"})  # archived in Xero
    # Dynamics still believes 205 is active (archived in Xero after the last import): only Xero can say no.
    harness.import_reference_data()
    stale = harness.reference_row(schema.ACCOUNT_CODE_ENTITY_SET, schema.ACCOUNT_CODE_CODE, "205")
    harness.connector.update(
        schema.ACCOUNT_CODE_ENTITY_SET,
        stale[schema.ACCOUNT_CODE_TABLE.primary_id],
        {schema.REFERENCE_IS_ACTIVE: True, schema.REFERENCE_STATUS: "ACTIVE"},
    )
    invoice_id = harness.new_invoice()
    harness.drain()

    assert harness.invoice_row(invoice_id)[schema.INVOICE_EXPORT_STATUS] == ExportStatus.FAILED
    [history] = harness.history(invoice_id)
    assert history[schema.SYNC_HISTORY_STATUS] == SyncStatus.FAILED
    assert history[schema.SYNC_HISTORY_DETAILS].startswith("The invoice could not be sent to Xero. Xero said: ")
    assert "205" in history[schema.SYNC_HISTORY_DETAILS]
    assert harness.xero_invoices(harness.invoice_row(invoice_id)["invoicenumber"]) == []
