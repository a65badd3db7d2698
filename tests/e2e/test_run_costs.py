"""What a run of invoices costs: the connection row and the organisation's item codes are read once, not per
invoice; saving the connection row's settings reaches the next job at once."""

from __future__ import annotations

from datetime import date, timedelta

from app import dynamics_schema as schema
from app.clients.xero_limits import TenantLimiter
from app.dynamics_schema import DefaultInvoiceStatus, ExportStatus, SyncStatus
from sandbox.xero.seed import TENANT_A_ID


def test_a_run_of_invoices_reads_the_connection_row_and_the_item_codes_once(harness):
    harness.import_reference_data()  # done when the organisation was connected; the checks before sending read it
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


def test_near_the_daily_limit_the_invoice_waits_for_the_reset_and_says_so(harness):
    harness.import_reference_data()  # done when the organisation was connected
    before = harness.xero.calls().get(TENANT_A_ID, {}).get("calls", 0)
    TenantLimiter(harness.redis).set_day_budget(TENANT_A_ID, 10)  # a small tier: 9 for sending, 1 kept
    harness.redis.set(f"connector:xero:limit:{TENANT_A_ID}:day", 9, ex=3600)
    invoice_id = harness.new_invoice()
    harness.drain()

    row = harness.invoice_row(invoice_id)
    assert row[schema.INVOICE_EXPORT_STATUS] != ExportStatus.FAILED
    [history] = harness.history(invoice_id)
    assert history[schema.SYNC_HISTORY_STATUS] == SyncStatus.INFORMATION
    assert "kept for payments and reconciliation" in history[schema.SYNC_HISTORY_DETAILS]
    assert "resumes at" in history[schema.SYNC_HISTORY_DETAILS]
    assert harness.xero.calls().get(TENANT_A_ID, {}).get("calls", 0) == before
    [deferred] = [r for r in harness.results() if r.get("outcome") == "deferred"]
    assert deferred["reason"] == history[schema.SYNC_HISTORY_DETAILS]
