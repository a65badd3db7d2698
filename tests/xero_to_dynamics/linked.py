"""An invoice that exists in both systems, and a Xero user who pays, voids and credits it in sandbox Xero.

`linked` builds on the end-to-end harness (tests/e2e/harness.py: provisioned sandbox Dataverse whose steps call
the intake, a connection row for tenant A with its tokens, the worker environment) and adds what Xero needs to
reach the connector: a web app with the Xero webhook key, the sandbox Xero subscribed to it, and the tenant
registered for the intake. Invoices are made directly on both sides (not through the Dynamics -> Xero sync).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pytest
import requests
from werkzeug.serving import make_server

from app import create_app
from app import dynamics_schema as schema
from app.dynamics_schema import ExportStatus, InvoiceType
from app.embedded_redis import free_port
from app.webhooks.xero import CATEGORY_KINDS
from app.xero_tenants import register_tenant
from sandbox.dataverse.seed import ACCOUNT_IDS, PRICE_LIST_ID
from sandbox.xero.seed import TENANT_A_ID, seeded_id
from tests.e2e.harness import Harness
from tests.helpers import settings_for

WEBHOOK_KEY = "sandbox-webhook-key"
ACME = seeded_id(TENANT_A_ID, "contact", "Acme Corporation")
INITECH = seeded_id(TENANT_A_ID, "contact", "Initech Supplies")
XERO_USER_SCOPES = ["accounting.invoices", "accounting.payments", "accounting.contacts", "accounting.settings"]
CUSTOMER = ACCOUNT_IDS[0]  # the Dynamics account linked to Acme in Xero


class XeroUser:
    """Someone working in sandbox Xero through the Accounting API (what Xero's own screens would do)."""

    def __init__(self, base_url: str, access_token: str) -> None:
        self.api = f"{base_url}/api.xro/2.0"
        self.http = requests.Session()
        self.http.headers.update(
            {"Authorization": f"Bearer {access_token}", "xero-tenant-id": TENANT_A_ID, "Accept": "application/json"}
        )

    def _send(self, method: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = self.http.request(method, self.api + path, json=body, timeout=10)
        assert response.status_code == 200, response.text
        return dict(response.json())

    def invoice(
        self,
        amount: str,
        *,
        contact_id: str = ACME,
        status: str = "AUTHORISED",
        invoice_type: str = "ACCREC",
        due: date | None = None,
    ) -> dict[str, Any]:
        today = date.today()
        body = {
            "Type": invoice_type,
            "Contact": {"ContactID": contact_id},
            "Status": status,
            "Date": today.isoformat(),
            "DueDate": (due or today + timedelta(days=30)).isoformat(),
            "LineAmountTypes": "NoTax",
            "LineItems": [
                {
                    "Description": "Consulting",
                    "Quantity": 1,
                    "UnitAmount": amount,
                    "AccountCode": "200" if invoice_type == "ACCREC" else "300",
                    "TaxType": "NONE",
                }
            ],
        }
        return self._send("PUT", "/Invoices", {"Invoices": [body]})["Invoices"][0]

    def pay(self, invoice_id: str, amount: str) -> dict[str, Any]:
        body = {
            "Invoice": {"InvoiceID": invoice_id},
            "Account": {"Code": "090"},
            "Amount": amount,
            "Date": date.today().isoformat(),
        }
        return self._send("PUT", "/Payments", {"Payments": [body]})["Payments"][0]

    def void(self, invoice_id: str) -> dict[str, Any]:
        body = {"InvoiceID": invoice_id, "Status": "VOIDED"}
        return self._send("POST", f"/Invoices/{invoice_id}", {"Invoices": [body]})["Invoices"][0]

    def credit_note(self, amount: str, *, contact_id: str = ACME) -> dict[str, Any]:
        body = {
            "Type": "ACCRECCREDIT",
            "Contact": {"ContactID": contact_id},
            "Status": "AUTHORISED",
            "Date": date.today().isoformat(),
            "LineAmountTypes": "NoTax",
            "LineItems": [
                {
                    "Description": "Goodwill",
                    "Quantity": 1,
                    "UnitAmount": amount,
                    "AccountCode": "200",
                    "TaxType": "NONE",
                }
            ],
        }
        return self._send("PUT", "/CreditNotes", {"CreditNotes": [body]})["CreditNotes"][0]

    def allocate(self, credit_note_id: str, invoice_id: str, amount: str) -> None:
        allocation = {"Invoice": {"InvoiceID": invoice_id}, "Amount": amount, "Date": date.today().isoformat()}
        self._send("PUT", f"/CreditNotes/{credit_note_id}/Allocations", {"Allocations": [allocation]})

    def credit(self, invoice_id: str, amount: str, *, contact_id: str = ACME) -> dict[str, Any]:
        """A credit note for `amount`, allocated in full to the invoice."""
        note = self.credit_note(amount, contact_id=contact_id)
        self.allocate(note["CreditNoteID"], invoice_id, amount)
        return note


@dataclass
class Linked:
    harness: Harness
    xero_user: XeroUser
    webhook_url: str

    def both_sides(self, amount: str = "120.00", **xero: Any) -> tuple[str, dict[str, Any]]:
        """A Xero invoice and the Dynamics invoice carrying its id, as a finished first sync leaves them."""
        document = self.xero_user.invoice(amount, **xero)
        invoice_id = self.dynamics_row(
            document["InvoiceID"],
            document["InvoiceNumber"],
            document["Status"],
            due=document["AmountDue"],
            invoice_type=InvoiceType.SALES_INVOICE,
        )
        return invoice_id, document

    def dynamics_row(self, xero_id: str, number: str, status: str, *, due: Any, invoice_type: InvoiceType) -> str:
        body = {
            "name": f"Linked {number}",
            "customerid_account@odata.bind": f"/accounts({CUSTOMER})",
            "pricelevelid@odata.bind": f"/pricelevels({PRICE_LIST_ID})",
            schema.INVOICE_INVOICE_TYPE: int(invoice_type),
            schema.INVOICE_EXPORT_STATUS: int(ExportStatus.YES),
            schema.INVOICE_XERO_INVOICE_ID: xero_id,
            schema.INVOICE_XERO_NUMBER: number,
            schema.INVOICE_XERO_STATUS: status,
            schema.INVOICE_AMOUNT_DUE: float(due),
            schema.INVOICE_AMOUNT_PAID: 0,
            schema.INVOICE_AMOUNT_CREDITED: 0,
            **schema.bind(schema.lookup("invoice", schema.INVOICE_CONNECTION), self.harness.connection_id),
        }
        # Written as the connector's own user, like the first sync's write-back: the intake ignores it.
        invoice_id = str(self.harness.connector.create("invoices", body)["invoiceid"])
        self.settle()
        return invoice_id

    def settle(self) -> list[Any]:
        """Deliver what Xero raised, then run every queued job (the Dataverse webhooks they cause included)."""
        assert self.harness.xero.flush_webhooks()
        return self.harness.drain()

    def xero_results(self, kind: str = "xero.invoice") -> list[dict[str, Any]]:
        return self.harness.results(kind)

    def history(self, invoice_id: str) -> list[dict[str, Any]]:
        return self.harness.history(invoice_id)

    def customer(self) -> dict[str, Any]:
        return self.harness.connector.get("accounts", CUSTOMER)


@pytest.fixture
def linked(harness: Harness, redis_url: str) -> Iterator[Linked]:
    port = free_port()
    app = create_app(settings_for(redis_url, xero_webhook_key=WEBHOOK_KEY))
    web = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=web.serve_forever, daemon=True)
    thread.start()
    register_tenant(harness.redis, TENANT_A_ID, harness.connection_id)
    harness.connector.update("accounts", CUSTOMER, {schema.CUSTOMER_XERO_CONTACT_ID: ACME})
    url = f"http://127.0.0.1:{port}/webhooks/xero"
    # Invoices, contacts and credit notes: every category the connector reads (CATEGORY_KINDS).
    subscription = harness.xero.subscribe_webhooks(url, WEBHOOK_KEY, categories=list(CATEGORY_KINDS))
    assert subscription["status"] == "ACTIVE", subscription
    # A person in Xero may record payments (the connector itself only reads them).
    token = harness.xero.mint_token([TENANT_A_ID], XERO_USER_SCOPES)["access_token"]
    try:
        yield Linked(harness=harness, xero_user=XeroUser(harness.xero.base_url, token), webhook_url=url)
    finally:
        harness.xero.subscribe_webhooks(None)
        web.shutdown()
        thread.join(5)
