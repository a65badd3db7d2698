"""The money rules end to end, on the cases that went wrong before: the invoice discount and freight,
tax-inclusive prices, and a rounding line (sandbox Dataverse -> webhook -> worker -> sandbox Xero -> back)."""

from __future__ import annotations

import requests

from app import dynamics_schema as schema
from app import dynamics_ui as ui
from app.dynamics_schema import InvoiceType, LineAmountTypes, RoundingMode, SyncStatus, TotalsStatus
from plugins_registration.provision import provision
from tests.stack_helpers import connector_web_api, quiet_report

# harness.new_invoice: Widget 4 x 12.50 = 50.00 and a write-in "Travel" 1 x 120.00, on account 200 (20 % VAT).


def xero_document(harness, invoice_id):
    row = harness.invoice_row(invoice_id)
    [document] = [d for d in harness.xero_invoices() if d["InvoiceID"] == row[schema.INVOICE_XERO_INVOICE_ID]]
    return row, document


def test_invoice_discount_and_freight_reach_xero_and_the_totals_agree(harness):
    invoice_id = harness.new_invoice(ready=False)
    harness.person.update("invoices", invoice_id, {"discountpercentage": 10, "freightamount": 15})
    harness.set_connection(invoice_id)
    harness.drain()

    row, document = xero_document(harness, invoice_id)
    texts = [line["Description"] for line in document["LineItems"]]
    assert "Invoice discount (10%)" in texts and "Freight" in texts
    # 170.00 less 10 % = 153.00, VAT 30.60 on it, freight 15.00 without tax
    assert (document["SubTotal"], document["TotalTax"], document["Total"]) == (168.0, 30.6, 198.6)
    assert (row["totalamount"], row["totaltax"]) == (198.6, 30.6)
    assert row[schema.INVOICE_TOTALS_STATUS] == TotalsStatus.MATCH
    assert row[schema.INVOICE_XERO_TOTAL] == 198.6 and not row.get(schema.INVOICE_TOTALS_DIFFERENCE)
    assert harness.history(invoice_id)[-1][schema.SYNC_HISTORY_STATUS] == SyncStatus.SUCCESS


def test_tax_inclusive_prices_leave_dynamics_with_xero_s_total_and_tax_and_do_not_drift(harness):
    invoice_id = harness.new_invoice(ready=False)
    harness.person.update("invoices", invoice_id, {schema.INVOICE_LINE_AMOUNT_TYPES: int(LineAmountTypes.INCLUSIVE)})
    harness.set_connection(invoice_id)
    harness.drain()

    row, document = xero_document(harness, invoice_id)
    assert (document["Total"], document["TotalTax"]) == (170.0, 28.33)  # 8.33 in 50.00, 20.00 in 120.00
    assert (row["totalamount"], row["totaltax"]) == (170.0, 28.33)
    assert row[schema.INVOICE_TOTALS_STATUS] == TotalsStatus.MATCH
    lines = harness.connector.rows("invoicedetails", **{"$filter": f"_invoiceid_value eq {invoice_id}"})
    assert sorted(line["priceperunit"] for line in lines) == [10.4175, 100.0]  # 4 x 10.4175 = 41.67

    harness.person.update("invoices", invoice_id, {"name": "Consulting, renamed"})
    harness.drain()
    row, document = xero_document(harness, invoice_id)
    assert (document["Total"], document["TotalTax"], row["totalamount"]) == (170.0, 28.33, 170.0)
    assert row[schema.INVOICE_TOTALS_STATUS] == TotalsStatus.MATCH


def _thousand_less_a_cent(harness) -> str:
    """A bill (no discount rates on bills in Xero) whose line no 4-decimal unit amount can price exactly."""
    invoice_id = harness.new_invoice(lines=0, ready=False, invoice_type=InvoiceType.PURCHASE_INVOICE)
    harness.person.create(
        "invoicedetails",
        {
            "invoiceid@odata.bind": f"/invoices({invoice_id})",
            "isproductoverridden": True,
            "productdescription": "Bolts",
            "quantity": 1000,
            "priceperunit": 1,
            "manualdiscountamount": 0.01,
        },
    )
    harness.set_connection(invoice_id)
    harness.drain()
    return invoice_id


def test_a_rounding_line_makes_the_total_exact_when_the_connection_asks_for_it(harness):
    harness.set_connection_settings(
        **{
            schema.CONNECTION_ROUNDING_MODE: int(RoundingMode.ROUNDING_LINE),
            schema.CONNECTION_ROUNDING_ACCOUNT_CODE: "860",
        }
    )
    invoice_id = _thousand_less_a_cent(harness)

    row, document = xero_document(harness, invoice_id)
    bolts, rounding = document["LineItems"]
    assert (bolts["Quantity"], bolts["UnitAmount"]) == (1000.0, 1.0)  # the quantity stays as in Dynamics
    assert (rounding["Description"], rounding["AccountCode"], rounding["LineAmount"]) == ("Rounding", "860", -0.01)
    assert document["Total"] == row["totalamount"] == 1199.99
    assert row[schema.INVOICE_TOTALS_STATUS] == TotalsStatus.ROUNDING_LINE
    assert "rounding line of -0.01" in row[schema.INVOICE_TOTALS_DIFFERENCE]
    assert harness.history(invoice_id)[-1][schema.SYNC_HISTORY_STATUS] == SyncStatus.SUCCESS


def test_by_default_such_a_line_is_sent_as_one_unit_so_nothing_needs_rounding(harness):
    invoice_id = _thousand_less_a_cent(harness)

    row, document = xero_document(harness, invoice_id)
    [bolts] = document["LineItems"]
    assert (bolts["Quantity"], bolts["UnitAmount"]) == (1.0, 999.99)
    assert document["Total"] == row["totalamount"] == 1199.99
    assert row[schema.INVOICE_TOTALS_STATUS] == TotalsStatus.MATCH


def test_a_refused_rounding_line_is_reported_and_the_invoice_stays_exported(harness):
    harness.set_connection_settings(
        **{
            schema.CONNECTION_ROUNDING_MODE: int(RoundingMode.ROUNDING_LINE),
            schema.CONNECTION_ROUNDING_ACCOUNT_CODE: "999",
        }
    )
    invoice_id = _thousand_less_a_cent(harness)

    row, document = xero_document(harness, invoice_id)
    assert document["Total"] == 1200.0 and row["totalamount"] == 1199.99
    assert row[schema.INVOICE_EXPORT_STATUS] == schema.ExportStatus.YES
    assert row[schema.INVOICE_TOTALS_STATUS] == TotalsStatus.DIFFER
    words = row[schema.INVOICE_TOTALS_DIFFERENCE]
    assert "Total: Xero 1,200.00, Dynamics 1,199.99" in words
    assert "Xero refused the rounding line on account 999" in words
    assert harness.history(invoice_id)[-1][schema.SYNC_HISTORY_STATUS] == SyncStatus.TOTALS_DIFFER


def test_taxed_freight_is_reported_and_listed_by_the_totals_differ_view(harness):
    provision(connector_web_api(harness.dataverse), quiet_report())  # the forms and views
    harness.set_connection_settings(**{schema.CONNECTION_FREIGHT_TAX_TYPE: "OUTPUT2"})
    invoice_id = harness.new_invoice(ready=False)
    harness.person.update("invoices", invoice_id, {"freightamount": 15})
    harness.set_connection(invoice_id)
    matching_id = harness.new_invoice(name="No freight")
    harness.drain()

    row, document = xero_document(harness, invoice_id)
    assert (document["TotalTax"], row["totaltax"]) == (37.0, 34.0)  # 20 % of 170.00, and 3.00 on the freight
    words = row[schema.INVOICE_TOTALS_DIFFERENCE]
    assert "Tax: Xero 37.00, Dynamics 34.00" in words and "Total: Xero 222.00, Dynamics 219.00" in words
    assert "Freight tax 3.00 has no place in Dynamics totals" in words
    last = harness.history(invoice_id)[-1]
    assert last[schema.SYNC_HISTORY_STATUS] == SyncStatus.TOTALS_DIFFER and words in last[schema.SYNC_HISTORY_DETAILS]

    view = ui.view("invoice", "Totals differ from Xero")
    page = requests.get(f"{harness.dataverse.url}/_sandbox/views/{view.view_id}", timeout=10)
    assert page.status_code == 200
    assert invoice_id in page.text and matching_id not in page.text
