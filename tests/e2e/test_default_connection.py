"""The default connection: an invoice marked Ready to update without a connection goes to the default one."""

from __future__ import annotations

from app import dynamics_schema as schema
from app.dynamics_schema import ExportStatus, SyncStatus


def _mark_ready(harness, invoice_id: str) -> None:
    harness.person.update("invoices", invoice_id, {schema.INVOICE_EXPORT_STATUS: int(ExportStatus.READY_TO_UPDATE)})


def test_an_invoice_marked_ready_without_a_connection_uses_the_default_one_and_says_so(harness):
    invoice_id = harness.new_invoice(ready=False)
    harness.drain()
    assert harness.history(invoice_id) == [], "still being written: nothing happens"

    _mark_ready(harness, invoice_id)
    harness.drain()

    row = harness.invoice_row(invoice_id)
    assert row[f"_{schema.INVOICE_CONNECTION}_value"] == harness.connection_id
    assert row[schema.INVOICE_EXPORT_STATUS] == ExportStatus.YES
    note, sent = harness.history(invoice_id)
    assert note[schema.SYNC_HISTORY_STATUS] == SyncStatus.INFORMATION
    assert "the default connection 'Sandbox Trading Ltd' was used" in note[schema.SYNC_HISTORY_DETAILS]
    assert sent[schema.SYNC_HISTORY_STATUS] == SyncStatus.SUCCESS
    assert len(harness.xero_invoices(row["invoicenumber"])) == 1


def test_without_a_default_connection_the_invoice_says_what_to_choose(harness):
    harness.set_connection_settings(**{schema.CONNECTION_IS_DEFAULT: False})
    invoice_id = harness.new_invoice(ready=False)
    _mark_ready(harness, invoice_id)
    harness.drain()

    [history] = harness.history(invoice_id)
    assert history[schema.SYNC_HISTORY_STATUS] == SyncStatus.SKIPPED
    assert "no connection is flagged Default" in history[schema.SYNC_HISTORY_DETAILS]
    assert harness.xero_invoices() == []
