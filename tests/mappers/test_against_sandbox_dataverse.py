"""The readers' queries and the write-back bodies, against the sandbox Dataverse with the connector's schema.

Rows are created through the Web API as a user would, read back with `invoice_query()` and friends, parsed
by the mappers, and the write-back bodies are sent back: a wrong column, navigation property or bind fails.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
import requests

from app import dynamics_schema as schema
from app.dynamics_schema import ExportStatus, InvoiceType, SyncAction, SyncStatus
from mappers.dynamics import (
    ConnectionSettings,
    Customer,
    CustomerKind,
    Invoice,
    TrackingChoice,
    connection_query,
    customer_query,
    invoice_lines_query,
    invoice_query,
)
from mappers.eligibility import Eligible, check_eligibility
from mappers.writeback import customer_contact_patch, history_row, invoice_success_patch
from mappers.xero_invoice import SendDocument, build_document
from plugins_registration.auth import static_token
from plugins_registration.provision import provision
from plugins_registration.report import ChangeReport
from plugins_registration.webapi import WebApi
from sandbox.dataverse.seed import ACCOUNT_IDS, PRICE_LIST_ID, PRODUCT_IDS, SANDBOX_CONNECTOR_TOKEN
from tests.mappers.helpers import xero_invoice

ANNOTATED = {"Prefer": 'odata.include-annotations="*"'}


class Org:
    def __init__(self, api_url: str, session: requests.Session) -> None:
        self.api_url, self.session = api_url, session

    def create(self, entity_set: str, body: dict[str, Any]) -> str:
        response = self.session.post(self.api_url + entity_set, json=body, headers={"Prefer": "return=representation"})
        assert response.status_code == 201, response.text
        return str(response.json()[_primary_key(entity_set)])

    def get(self, path: str, params: dict[str, str]) -> dict[str, Any]:
        response = self.session.get(self.api_url + path, params=params, headers=ANNOTATED)
        assert response.status_code == 200, response.text
        return dict(response.json())

    def patch(self, path: str, body: Any) -> None:
        response = self.session.patch(self.api_url + path, json=dict(body), headers={"If-Match": "*"})
        assert response.status_code == 204, response.text


def _primary_key(entity_set: str) -> str:
    if entity_set.startswith("xc_"):
        return entity_set.removesuffix("s") + "id"
    return {"invoices": "invoiceid", "invoicedetails": "invoicedetailid"}[entity_set]


def _bind(table: str, column: str, target_id: str) -> dict[str, str]:
    return schema.bind(schema.lookup(table, column), target_id)


@pytest.fixture
def org(dataverse_sandbox: Any, dataverse_session: requests.Session) -> Org:
    provision(
        WebApi(dataverse_sandbox.url.rstrip("/"), static_token(SANDBOX_CONNECTOR_TOKEN)),
        ChangeReport(out=lambda _: None),
    )
    return Org(dataverse_sandbox.api_url, dataverse_session)


@pytest.fixture
def seeded_invoice(org: Org) -> dict[str, str]:
    connection_id = org.create(
        schema.CONNECTION_ENTITY_SET,
        {
            schema.CONNECTION_NAME: "Sandbox Trading Ltd",
            schema.CONNECTION_XERO_SHORT_CODE: "!SbxA1",
            schema.CONNECTION_TIME_ZONE: "Europe/London",
            schema.CONNECTION_DEFAULT_SALES_ACCOUNT_CODE: "200",
            schema.CONNECTION_DEFAULT_INVOICE_STATUS: int(schema.DefaultInvoiceStatus.SUBMITTED),
        },
    )
    on_connection = schema.bind(
        schema.lookup(schema.ACCOUNT_CODE_TABLE.logical_name, schema.REFERENCE_CONNECTION), connection_id
    )
    account_code = org.create(
        schema.ACCOUNT_CODE_ENTITY_SET,
        {schema.REFERENCE_NAME: "260 - Other Revenue", schema.ACCOUNT_CODE_CODE: "260", **on_connection},
    )
    tax_rate = org.create(
        schema.TAX_RATE_ENTITY_SET,
        {schema.REFERENCE_NAME: "20% (VAT on Income)", schema.TAX_RATE_TAX_TYPE: "OUTPUT2", **on_connection},
    )
    category = org.create(schema.TRACKING_CATEGORY_ENTITY_SET, {schema.REFERENCE_NAME: "Region", **on_connection})
    option = org.create(
        schema.TRACKING_OPTION_ENTITY_SET,
        {
            schema.REFERENCE_NAME: "North",
            **on_connection,
            **_bind(schema.TRACKING_OPTION_TABLE.logical_name, schema.TRACKING_OPTION_CATEGORY, category),
        },
    )
    theme = org.create(
        schema.BRANDING_THEME_ENTITY_SET,
        {
            schema.REFERENCE_NAME: "Standard",
            schema.REFERENCE_XERO_ID: "5d4dd402-c851-497e-aae1-9ff265c0d15a",
            **on_connection,
        },
    )
    invoice_id = org.create(
        "invoices",
        {
            "name": "Sandbox consulting",
            "customerid_account@odata.bind": f"/accounts({ACCOUNT_IDS[0]})",
            "pricelevelid@odata.bind": f"/pricelevels({PRICE_LIST_ID})",
            "datedelivered": "2026-11-20",
            "duedate": "2026-12-20",
            schema.INVOICE_INVOICE_TYPE: int(InvoiceType.SALES_INVOICE),
            **_bind("invoice", schema.INVOICE_CONNECTION, connection_id),
            **_bind("invoice", schema.INVOICE_BRANDING_THEME, theme),
        },
    )
    invoice_bind = {"invoiceid@odata.bind": f"/invoices({invoice_id})"}
    org.create(
        "invoicedetails",
        {
            **invoice_bind,
            "productid@odata.bind": f"/products({PRODUCT_IDS[0]})",
            "quantity": 4,
            "sequencenumber": 1,
            "uomid@odata.bind": "/uoms(5c0e0a5e-0000-4000-8000-000000000301)",
            **_bind("invoicedetail", schema.INVOICE_LINE_ACCOUNT_CODE, account_code),
            **_bind("invoicedetail", schema.INVOICE_LINE_TAX_RATE, tax_rate),
            **_bind("invoicedetail", schema.INVOICE_LINE_TRACKING_OPTION_1, option),
        },
    )
    org.create(
        "invoicedetails",
        {
            **invoice_bind,
            "productdescription": "Installation",
            "quantity": 1.5,
            "priceperunit": 95,
            "manualdiscountamount": 2.5,
            "sequencenumber": 2,
        },
    )
    return {"invoice": invoice_id, "connection": connection_id}


def read_invoice(org: Org, ids: dict[str, str]) -> tuple[Invoice, ConnectionSettings]:
    connection = ConnectionSettings.from_row(
        org.get(f"{schema.CONNECTION_ENTITY_SET}({ids['connection']})", connection_query())
    )
    header = org.get(f"invoices({ids['invoice']})", invoice_query())
    lines = org.get("invoicedetails", invoice_lines_query(ids["invoice"]))["value"]
    return Invoice.from_row(header, lines, time_zone=connection.zone), connection


def test_invoice_read_through_the_queries_carries_every_value_the_rules_need(org, seeded_invoice):
    invoice, connection = read_invoice(org, seeded_invoice)
    assert connection.default_invoice_status is schema.DefaultInvoiceStatus.SUBMITTED
    assert connection.time_zone == "Europe/London"
    assert invoice.customer is not None and invoice.customer.kind is CustomerKind.ACCOUNT
    assert invoice.currency_code == "GBP"
    assert invoice.date_delivered == date(2026, 11, 20)
    assert invoice.branding_theme_xero_id == "5d4dd402-c851-497e-aae1-9ff265c0d15a"
    widget, installation = invoice.lines
    assert (widget.product_number, widget.price_per_unit, widget.quantity) == ("WIDGET-001", Decimal("12.5"), 4)
    assert (widget.account_code, widget.tax_type) == ("260", "OUTPUT2")
    assert widget.tracking == (TrackingChoice("Region", "North"),)
    assert installation.is_write_in and installation.manual_discount == Decimal("2.5")
    assert check_eligibility(invoice, connection, date(2026, 11, 20)) == Eligible()


def test_customer_read_through_its_query(org):
    row = org.get(f"accounts({ACCOUNT_IDS[0]})", customer_query(CustomerKind.ACCOUNT))
    customer = Customer.from_row(row)
    assert (customer.name, customer.account_number) == ("Contoso Ltd", "CON-001")


def test_write_back_bodies_are_accepted_by_dataverse(org, seeded_invoice):
    invoice, connection = read_invoice(org, seeded_invoice)
    plan = build_document(
        invoice,
        connection,
        contact_id="3f1c9e0a-8b7d-4e6f-a5b4-c3d2e1f0a9b8",
        org_url="https://contoso.crm11.dynamics.com",
    )
    assert isinstance(plan, SendDocument)
    saved = xero_invoice("SUBMITTED", lines=[])
    now = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
    patch = invoice_success_patch(invoice.id, saved, connection, exported_at=now)
    org.patch(f"{patch.entity_set}({patch.row_id})", patch.body)
    history = history_row(
        invoice_id=invoice.id,
        connection_id=connection.id,
        occurred_on=now,
        action=SyncAction.CREATE,
        status=SyncStatus.SUCCESS,
        details="Invoice created in Xero.",
        xero_invoice_id=saved.invoice_id,
    )
    org.create(history.entity_set, dict(history.body))
    customer = invoice.customer
    assert customer is not None
    contact_patch = customer_contact_patch(customer, "3f1c9e0a-8b7d-4e6f-a5b4-c3d2e1f0a9b8")
    org.patch(f"{contact_patch.entity_set}({contact_patch.row_id})", contact_patch.body)

    again, _ = read_invoice(org, seeded_invoice)
    assert (again.xero_invoice_id, again.xero_number, again.xero_status) == (
        saved.invoice_id,
        "INV-01001-K7Q2ZP",
        "SUBMITTED",
    )
    assert again.export_status is ExportStatus.YES
    invoice_key = schema.lookup(schema.SYNC_HISTORY_ENTITY, schema.SYNC_HISTORY_INVOICE).value_key
    rows = org.get(schema.SYNC_HISTORY_ENTITY_SET, {"$filter": f"{invoice_key} eq {invoice.id}"})["value"]
    assert [row[schema.SYNC_HISTORY_DETAILS] for row in rows] == ["Invoice created in Xero."]
    account = org.get(f"accounts({customer.id})", customer_query(CustomerKind.ACCOUNT))
    assert Customer.from_row(account).xero_contact_id == "3f1c9e0a-8b7d-4e6f-a5b4-c3d2e1f0a9b8"
