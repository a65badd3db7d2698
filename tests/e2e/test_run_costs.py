"""What a run of invoices costs: the connection row and the organisation's item codes are read once, not per
invoice; saving the connection row's settings reaches the next job at once."""

from __future__ import annotations

from datetime import date, timedelta

from app import dynamics_schema as schema
from app.dynamics_schema import DefaultInvoiceStatus, ExportStatus
from sandbox.xero.seed import TENANT_A_ID


def test_a_run_of_invoices_reads_the_connection_row_and_the_item_codes_once(harness):
    invoice_ids = [harness.new_invoice(name=f"Run {n}") for n in range(4)]
    assert harness.dataverse.wait_for_webhooks(30)
    harness.dataverse.sandbox.request_counts(clear=True)
    harness.drain()

    assert all(harness.invoice_row(i)[schema.INVOICE_EXPORT_STATUS] == ExportStatus.YES for i in invoice_ids)
    requests = harness.dataverse.sandbox.request_counts()
    assert requests.get(f"GET {schema.CONNECTION_ENTITY_SET}") == 1
    assert "GET WhoAmI" not in requests
    endpoints = harness.xero.calls()[TENANT_A_ID]["endpoints"]
    assert endpoints["PUT Invoices"] == 4
    assert endpoints.get("GET Items", 0) == 1


def test_a_changed_connection_row_applies_to_the_next_invoice(harness):
    harness.new_invoice(name="Before")
    harness.drain()
    harness.set_connection_settings(**{schema.CONNECTION_DEFAULT_INVOICE_STATUS: int(DefaultInvoiceStatus.SUBMITTED)})
    invoice_id = harness.new_invoice(name="After", due=date.today() + timedelta(days=30))
    harness.drain()
    row = harness.invoice_row(invoice_id)
    assert row[schema.INVOICE_EXPORT_STATUS] == ExportStatus.YES
    assert row[schema.INVOICE_XERO_STATUS] == "SUBMITTED", "the new setting was used"
