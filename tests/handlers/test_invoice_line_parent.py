"""`invoicedetail.resolve_parent`: a line event that did not name its invoice still syncs that invoice."""

from __future__ import annotations

from app import dynamics_schema as schema
from app.dynamics_schema import ExportStatus
from sandbox.dataverse.seed import ORGANIZATION_ID


def resolve(harness, line_id: str, *, deleted: bool) -> dict:
    job = harness.jobs.submit(
        "dataverse",
        "invoicedetail.resolve_parent",
        {"organization_id": ORGANIZATION_ID, "line_id": line_id, "deleted": deleted},
    )
    harness.drain()
    [result] = [j.return_value() for j in harness.finished if j.id == job.job_id]
    return result


def lines_of(harness, invoice_id: str) -> list[dict]:
    return harness.connector.rows("invoicedetails", **{"$filter": f"_invoiceid_value eq {invoice_id}"})


def test_the_line_is_read_and_its_invoice_synced(harness):
    invoice_id = harness.new_invoice(ready=False)
    harness.drain()
    # Set as the connector's own user: the intake ignores that change, so only the line can start the sync.
    harness.connector.update(
        "invoices", invoice_id, schema.bind(schema.lookup("invoice", schema.INVOICE_CONNECTION), harness.connection_id)
    )
    harness.drain()
    assert harness.invoice_row(invoice_id)[schema.INVOICE_EXPORT_STATUS] != ExportStatus.YES
    line_id = lines_of(harness, invoice_id)[0]["invoicedetailid"]

    result = resolve(harness, line_id, deleted=False)
    assert result["invoice_id"] == invoice_id
    assert harness.invoice_row(invoice_id)[schema.INVOICE_EXPORT_STATUS] == ExportStatus.YES


def test_a_deleted_line_is_traced_to_its_invoice_through_the_lines_a_sync_sent(harness):
    invoice_id = harness.new_invoice()
    harness.drain()
    line_id = lines_of(harness, invoice_id)[0]["invoicedetailid"]

    result = resolve(harness, line_id, deleted=True)
    assert result["invoice_id"] == invoice_id
    assert result["sync"] in ("queued", "coalesced")


def test_a_line_nobody_knows_is_ignored_with_the_reason(harness):
    result = resolve(harness, "0f0f0f0f-0000-4000-8000-000000000999", deleted=True)
    assert result["outcome"] == "ignored"
    assert "never part of a synced invoice" in result["reason"]
