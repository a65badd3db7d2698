"""When Xero refuses an edit, the Dynamics row shows what Xero still holds (status and amounts), not its old copy."""

from __future__ import annotations

from datetime import date

from app import dynamics_schema as schema
from app.dynamics_schema import ExportStatus, SyncStatus
from tests.e2e.harness import xero_call
from tests.e2e.test_sync_rules import authorised_invoice


def test_a_refused_edit_of_a_part_paid_invoice_shows_xeros_amounts(harness):
    invoice_id, xero_invoice = authorised_invoice(harness)
    payment = {
        "Invoice": {"InvoiceID": xero_invoice["InvoiceID"]},
        "Account": {"Code": "090"},
        "Amount": 10,
        "Date": date.today().isoformat(),
    }
    xero_call(harness, "PUT", "Payments", {"Payments": [payment]})  # Xero's webhook for it is not delivered here
    assert harness.invoice_row(invoice_id)[schema.INVOICE_AMOUNT_PAID] == 0.0

    # Account 205 was archived in Xero after the last import, so only Xero can refuse it.
    stale = harness.reference_row(schema.ACCOUNT_CODE_ENTITY_SET, schema.ACCOUNT_CODE_CODE, "205")
    harness.connector.update(
        schema.ACCOUNT_CODE_ENTITY_SET,
        stale[schema.ACCOUNT_CODE_TABLE.primary_id],
        {schema.REFERENCE_IS_ACTIVE: True, schema.REFERENCE_STATUS: "ACTIVE"},
    )
    harness.set_connection_settings(**{schema.CONNECTION_DEFAULT_SALES_ACCOUNT_CODE: "205"})
    harness.person.update("invoices", invoice_id, {schema.INVOICE_EXPORT_STATUS: int(ExportStatus.READY_TO_UPDATE)})
    harness.drain()

    row = harness.invoice_row(invoice_id)
    assert row[schema.INVOICE_EXPORT_STATUS] == ExportStatus.FAILED
    assert harness.history(invoice_id)[-1][schema.SYNC_HISTORY_STATUS] == SyncStatus.FAILED
    assert "205" in harness.history(invoice_id)[-1][schema.SYNC_HISTORY_DETAILS]
    assert (row[schema.INVOICE_XERO_STATUS], row[schema.INVOICE_AMOUNT_PAID]) == ("AUTHORISED", 10.0)
    assert row[schema.INVOICE_AMOUNT_DUE] == float(xero_invoice["Total"]) - 10
