"""From a change in the sandbox Dynamics, through its webhook, the intake and a worker, to sandbox Xero and back."""

from __future__ import annotations

from app import dynamics_schema as schema
from app.dynamics_schema import ExportStatus, SyncAction, SyncStatus
from sandbox.dataverse.seed import ACCOUNT_IDS


def test_an_invoice_marked_ready_appears_in_xero_and_its_xero_details_come_back(harness):
    invoice_id = harness.new_invoice()
    harness.drain()

    row = harness.invoice_row(invoice_id)
    number = row["invoicenumber"]
    [xero_invoice] = harness.xero_invoices(number)
    assert xero_invoice["Status"] == "DRAFT"
    assert xero_invoice["Contact"]["Name"] == "Contoso Ltd"
    assert [line["Description"] for line in xero_invoice["LineItems"]] == ["Widget", "Travel"]
    assert row[schema.INVOICE_XERO_INVOICE_ID] == xero_invoice["InvoiceID"]
    assert row[schema.INVOICE_XERO_NUMBER] == number
    assert row[schema.INVOICE_XERO_STATUS] == "DRAFT"
    assert row[schema.INVOICE_EXPORT_STATUS] == ExportStatus.YES
    assert "shortcode=!SbxA1" in row[schema.INVOICE_XERO_LINK]
    assert xero_invoice["InvoiceID"] in row[schema.INVOICE_XERO_LINK]
    assert row[schema.INVOICE_AMOUNT_DUE] == float(xero_invoice["AmountDue"])

    lines = harness.connector.rows(
        "invoicedetails", **{"$filter": f"_invoiceid_value eq {invoice_id}", "$orderby": "lineitemnumber asc"}
    )
    assert [line["tax"] for line in lines] == [float(x["TaxAmount"]) for x in xero_invoice["LineItems"]]
    assert any(line["tax"] > 0 for line in lines), "the tax Xero calculated came back onto the lines"
    account = harness.connector.get("accounts", ACCOUNT_IDS[0])
    assert account[schema.CUSTOMER_XERO_CONTACT_ID] == xero_invoice["Contact"]["ContactID"]

    [history] = harness.history(invoice_id)
    assert history[schema.SYNC_HISTORY_STATUS] == SyncStatus.SUCCESS
    assert history[schema.SYNC_HISTORY_ACTION] == SyncAction.CREATE
    assert f"Invoice {number} created in Xero" in history[schema.SYNC_HISTORY_DETAILS]


def test_without_a_short_code_on_the_connection_it_is_asked_of_xero_once_and_kept(harness):
    harness.set_connection_settings(**{schema.CONNECTION_XERO_SHORT_CODE: None})
    invoice_id = harness.new_invoice()
    harness.drain()

    assert "shortcode=!SbxA1" in harness.invoice_row(invoice_id)[schema.INVOICE_XERO_LINK]
    connection = harness.connector.get(schema.CONNECTION_ENTITY_SET, harness.connection_id)
    assert connection[schema.CONNECTION_XERO_SHORT_CODE] == "!SbxA1"
