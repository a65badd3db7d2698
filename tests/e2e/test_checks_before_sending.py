"""Problems Xero would refuse are found from the reference data in Dynamics: a Failed row, and no Xero call."""

from __future__ import annotations

from datetime import date, timedelta

from app import dynamics_schema as schema
from app.dynamics_schema import ExportStatus, InvoiceType, SyncStatus
from sandbox.xero.seed import TENANT_A_ID


def _xero_calls(harness) -> int:
    return int(harness.xero.calls().get(TENANT_A_ID, {}).get("calls", 0))


def _failed_without_calling_xero(harness, invoice_id: str) -> str:
    row = harness.invoice_row(invoice_id)
    assert row[schema.INVOICE_EXPORT_STATUS] == ExportStatus.FAILED
    [history] = harness.history(invoice_id)
    assert history[schema.SYNC_HISTORY_STATUS] == SyncStatus.FAILED
    assert harness.xero_invoices() == []
    return str(history[schema.SYNC_HISTORY_DETAILS])


def test_an_invoice_in_a_locked_period_fails_before_xero_is_called(harness):
    lock = date.today() - timedelta(days=1)
    harness.xero.set_organisation(TENANT_A_ID, PeriodLockDate=lock.isoformat())
    harness.import_reference_data()  # the nightly import brings the lock date to the connection
    before = _xero_calls(harness)

    invoice_id = harness.new_invoice(delivered=lock)
    harness.drain()

    details = _failed_without_calling_xero(harness, invoice_id)
    assert f"is on or before the lock date of Sandbox Trading Ltd ({lock:%d %B %Y})" in details
    assert _xero_calls(harness) == before, "nothing was asked of Xero"

    # Fixed by the user (a later date) and asked again: it goes through.
    harness.person.update("invoices", invoice_id, {"datedelivered": date.today().isoformat()})
    harness.person.update("invoices", invoice_id, {schema.INVOICE_EXPORT_STATUS: int(ExportStatus.NO)})
    harness.drain()
    assert harness.invoice_row(invoice_id)[schema.INVOICE_EXPORT_STATUS] == ExportStatus.YES


def test_a_connection_without_default_account_codes_is_refused_with_what_to_do(harness):
    harness.import_reference_data()
    harness.set_connection_settings(**{schema.CONNECTION_DEFAULT_SALES_ACCOUNT_CODE: None})
    harness.drain()  # the connection's own change (a reference data import) runs first
    before = _xero_calls(harness)

    invoice_id = harness.new_invoice()
    harness.drain()

    details = _failed_without_calling_xero(harness, invoice_id)
    assert "has no default sales account code" in details
    assert _xero_calls(harness) == before


def test_a_tax_rate_that_does_not_suit_the_account_is_refused(harness):
    harness.import_reference_data()
    harness.set_connection_settings(
        **{
            schema.CONNECTION_DEFAULT_PURCHASE_ACCOUNT_CODE: "200",
            schema.CONNECTION_DEFAULT_PURCHASE_TAX_TYPE: "INPUT2",
        }
    )

    invoice_id = harness.new_invoice(invoice_type=InvoiceType.PURCHASE_INVOICE)
    harness.drain()

    details = _failed_without_calling_xero(harness, invoice_id)
    assert "the tax rate 20% (VAT on Expenses) (INPUT2) cannot be used with the account 200 (Sales)" in details


def test_the_first_invoice_of_a_connection_imports_its_reference_data_first(harness):
    invoice_id = harness.new_invoice()
    harness.drain()
    assert harness.invoice_row(invoice_id)[schema.INVOICE_EXPORT_STATUS] == ExportStatus.YES
    codes = {row[schema.ACCOUNT_CODE_CODE] for row in harness.connector.rows(schema.ACCOUNT_CODE_ENTITY_SET)}
    assert {"200", "300"} <= codes
