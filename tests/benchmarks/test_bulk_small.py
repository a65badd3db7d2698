"""The bulk benchmark's small version: 60 ready invoices for one organisation, with what each system is asked.

The figures (speed, ratios) belong to `make bench`; this keeps the call counts from creeping back up.
"""

from __future__ import annotations

from benchmarks.bulk_stack import bulk_stack
from sandbox.xero.seed import TENANT_A_ID

INVOICES = 60
CUSTOMERS = 3


def test_sixty_invoices_cost_one_item_lookup_and_one_connection_read_and_make_no_duplicates():
    with bulk_stack(time_scale=0.01) as stack:
        organisation = stack.connect(TENANT_A_ID, "Sandbox Trading Ltd")
        invoice_ids = stack.add_invoices(organisation, INVOICES, customers=CUSTOMERS)
        stack.dataverse_requests(clear=True)
        stack.submit(invoice_ids)
        stack.work_in_process()

        assert stack.exported(invoice_ids) == INVOICES
        assert stack.xero_duplicates(TENANT_A_ID) == 0
        calls = stack.xero_calls(TENANT_A_ID)
        assert calls["PUT Invoices"] == INVOICES  # one per invoice until sending is batched
        assert calls["GET Items"] == 1, "item codes are looked up once per organisation"
        # The first invoice of a connection without reference data imports it (6 reads, the organisation included).
        assert calls["GET Organisation"] <= 2, "the short code is asked once and kept"
        assert calls["PUT Contacts"] == CUSTOMERS and calls["GET Contacts"] == CUSTOMERS
        assert sum(calls.values()) <= INVOICES + 2 * CUSTOMERS + 2 + 6

        requests = stack.dataverse_requests()
        assert "GET WhoAmI" not in requests
        assert requests["GET xc_connections"] <= 3, "the connection row is read once (and by the one import)"
        assert requests["GET invoices"] == requests["GET invoicedetails"] == INVOICES
        assert requests["POST $batch"] == INVOICES + 1  # and the one reference data import's
        # Plus one write of the Xero token set's copy on the connection row (once per rotation, at most every
        # five minutes): not per invoice, however often the scaled clock makes the token rotate.
        assert requests["PATCH xc_connections"] <= 1
        # Per invoice: the invoice, lines, customer, $batch, and the checks before sending and the links per
        # organisation (account codes, tax rates, currencies, contact and item links): not yet cached.
        assert sum(requests.values()) <= 9 * INVOICES + 20 + 1
