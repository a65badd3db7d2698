"""A Dynamics invoice that is already cancelled still shows what happens to its Xero invoice afterwards."""

from __future__ import annotations

from app import dynamics_schema as schema
from app.dynamics_schema import SyncAction, SyncStatus


def test_finance_credits_a_cancelled_invoice_in_xero_and_the_row_shows_it(linked):
    invoice_id, document = linked.both_sides("120.00")
    # Cancelled in Dynamics while credit notes were left to finance (nothing changed in Xero then).
    linked.harness.connector.update("invoices", invoice_id, {"statecode": 3, "statuscode": 100003})

    linked.xero_user.credit(document["InvoiceID"], "120.00")
    linked.settle()

    row = linked.harness.invoice_row(invoice_id)
    assert (row[schema.INVOICE_XERO_STATUS], row[schema.INVOICE_AMOUNT_DUE], row[schema.INVOICE_AMOUNT_CREDITED]) == (
        "PAID",
        0.0,
        120.0,
    )
    assert (row["statecode"], row["statuscode"]) == (3, 100003), "still cancelled, never made Paid"
    notes = [
        h
        for h in linked.history(invoice_id)
        if h[schema.SYNC_HISTORY_ACTION] == SyncAction.STATUS
        and h[schema.SYNC_HISTORY_STATUS] == SyncStatus.INFORMATION
    ]
    assert notes and "stays cancelled and shows these figures" in notes[-1][schema.SYNC_HISTORY_DETAILS]
    assert "closed" in [r.get("result") for r in linked.xero_results()]
