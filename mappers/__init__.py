"""Pure mappings between Dynamics 365 and Xero: no I/O, no clock (callers pass `today`/`now`), no globals.

- `dynamics`: typed views of Web API rows (connection settings, customers, invoices and lines) and the
  `$select`/`$expand` each reader expects.
- `eligibility`: whether an invoice may go to Xero now, later (a future delivery date) or not at all.
- `xero_contact`: matching or creating the Xero contact for a customer.
- `xero_invoice`: the xero-python Invoice or CreditNote to create or update, or why nothing changes;
  `idempotency_key`. Helpers: `line_pricing` (discounts to the cent), `line_matching` (LineItemIDs).
- `cancellation`: delete, void, credit (and allocate) or nothing, when an invoice is cancelled in Dynamics.
- `writeback`: the Dynamics PATCH/POST bodies for outcomes: Xero details, export status, sync history.
- `rows`, `xero_documents`: small readers shared by the above.
"""
