"""One Dynamics customer invoiced in two Xero organisations, end to end: sandbox Dynamics -> webhook -> worker ->
sandbox Xero (tenants A and B) -> Xero's webhooks -> balances back into Dynamics."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from app import dynamics_schema as schema
from app.dynamics_schema import DefaultInvoiceStatus, ExportStatus
from app.reference_data import main as reference_data_main
from app.xero_tenants import register_tenant
from mappers.dynamics import Customer, CustomerKind
from mappers.xero_links import contact_link_id
from sandbox.dataverse.seed import ACCOUNT_IDS, PRODUCT_IDS, USD_CURRENCY_ID, USD_PRICE_LIST_ID
from sandbox.xero.seed import TENANT_A_ID, TENANT_B_ID, seeded_id
from tests.stack_helpers import store_token
from tests.xero_to_dynamics.linked import ACME, CUSTOMER, Linked

WAYNE = seeded_id(TENANT_B_ID, "contact", "Wayne Enterprises")
INVOICE_TOTAL = 204.0  # Widget 4 x 12.50 + Travel 120.00, VAT 20 %


@pytest.fixture
def two_organisations(linked: Linked) -> tuple[Linked, str]:
    """Tenant A's connection from the harness and a second one for tenant B, both approving invoices."""
    harness = linked.harness
    approve = {schema.CONNECTION_DEFAULT_INVOICE_STATUS: int(DefaultInvoiceStatus.AUTHORISED)}
    harness.set_connection_settings(**approve)
    second = str(
        harness.connector.create(
            schema.CONNECTION_ENTITY_SET,
            {
                schema.CONNECTION_NAME: "Northwind Goods Ltd",
                schema.CONNECTION_XERO_TENANT_ID: TENANT_B_ID,
                schema.CONNECTION_XERO_TENANT_NAME: "Northwind Goods Ltd",
                schema.CONNECTION_XERO_SHORT_CODE: "!SbxB2",
                schema.CONNECTION_TIME_ZONE: "Europe/London",
                schema.CONNECTION_DEFAULT_SALES_ACCOUNT_CODE: "200",
                schema.CONNECTION_DEFAULT_PURCHASE_ACCOUNT_CODE: "300",
                schema.CONNECTION_CREATE_CONTACTS: True,
                schema.CONNECTION_CREATE_ITEMS: True,
                schema.CONNECTION_STATUS: int(schema.ConnectionStatus.CONNECTED),
                **approve,
            },
        )[schema.CONNECTION_ID]
    )
    store_token(harness.token_store, harness.xero, second, TENANT_B_ID)
    register_tenant(harness.redis, TENANT_B_ID, second)
    return linked, second


def _invoice_for(linked: Linked, connection_id: str, name: str, account: str = CUSTOMER) -> str:
    harness = linked.harness
    invoice_id = harness.new_invoice(name=name, account=account, due=date.today() + timedelta(days=30), ready=False)
    harness.person.update(
        "invoices", invoice_id, schema.bind(schema.lookup("invoice", schema.INVOICE_CONNECTION), connection_id)
    )
    linked.settle()  # the sync to Xero
    linked.settle()  # Xero's own webhooks about it: the balances
    return invoice_id


def test_the_same_customer_is_invoiced_in_two_organisations(two_organisations):
    linked, second = two_organisations
    harness = linked.harness

    first_invoice = _invoice_for(linked, harness.connection_id, "Widgets for Sandbox Trading")
    second_invoice = _invoice_for(linked, second, "Widgets for Northwind")

    for invoice_id in (first_invoice, second_invoice):
        row = harness.invoice_row(invoice_id)
        assert row[schema.INVOICE_EXPORT_STATUS] == int(ExportStatus.YES), harness.history(invoice_id)[-1]
        assert row[schema.INVOICE_XERO_STATUS] == "AUTHORISED"

    [in_a] = harness.xero.state(TENANT_A_ID)["Invoices"]
    [in_b] = harness.xero.state(TENANT_B_ID)["Invoices"]
    # Organisation A keeps the contact the single column always named; B got its own, created there.
    assert in_a["Contact"]["ContactID"] == ACME
    b_contact = in_b["Contact"]["ContactID"]
    assert b_contact != ACME
    assert [c["Name"] for c in harness.xero.state(TENANT_B_ID)["Contacts"] if c["ContactID"] == b_contact] == [
        "Contoso Ltd"
    ]

    links = harness.connector.rows(
        schema.CONTACT_LINK_ENTITY_SET, **{"$filter": f"_{schema.CONTACT_LINK_ACCOUNT}_value eq {CUSTOMER}"}
    )
    by_connection = {row[f"_{schema.LINK_CONNECTION}_value"]: row for row in links}
    assert set(by_connection) == {harness.connection_id, second}
    assert by_connection[harness.connection_id][schema.CONTACT_LINK_XERO_CONTACT_ID] == ACME
    assert by_connection[second][schema.CONTACT_LINK_XERO_CONTACT_ID] == b_contact
    customer = Customer(CustomerKind.ACCOUNT, CUSTOMER, "Contoso Ltd", None, None, None)
    assert by_connection[second][schema.CONTACT_LINK_TABLE.primary_id] == contact_link_id(second, customer)
    # The single column still names organisation A's contact.
    assert linked.customer()[schema.CUSTOMER_XERO_CONTACT_ID] == ACME

    # Each organisation's balance on its link, their sum on the account.
    assert by_connection[harness.connection_id][schema.CONTACT_LINK_OUTSTANDING] == INVOICE_TOTAL
    assert by_connection[second][schema.CONTACT_LINK_OUTSTANDING] == INVOICE_TOTAL
    assert linked.customer()[schema.CUSTOMER_OUTSTANDING] == 2 * INVOICE_TOTAL

    # Items are per organisation too: B created WIDGET-001 and its link carries B's item id.
    items = harness.connector.rows(
        schema.ITEM_LINK_ENTITY_SET, **{"$filter": f"_{schema.ITEM_LINK_PRODUCT}_value eq {PRODUCT_IDS[0]}"}
    )
    b_items = {i["Code"]: i["ItemID"] for i in harness.xero.state(TENANT_B_ID)["Items"]}
    [b_link] = [row for row in items if row[f"_{schema.LINK_CONNECTION}_value"] == second]
    assert b_items[b_link[schema.ITEM_LINK_XERO_ITEM_CODE]] == b_link[schema.ITEM_LINK_XERO_ITEM_ID]

    # A second invoice in B reuses the link: no new contact in B.
    contacts_before = len(harness.xero.state(TENANT_B_ID)["Contacts"])
    third = _invoice_for(linked, second, "More widgets for Northwind")
    assert harness.invoice_row(third)[schema.INVOICE_EXPORT_STATUS] == int(ExportStatus.YES), harness.history(third)
    assert len(harness.xero.state(TENANT_B_ID)["Contacts"]) == contacts_before
    assert linked.customer()[schema.CUSTOMER_OUTSTANDING] == 3 * INVOICE_TOTAL


def test_a_single_column_link_belongs_to_the_organisation_that_knows_the_contact(two_organisations):
    """The older column names Wayne Enterprises, a contact of organisation B. A's first invoice must not use it
    (A has no such contact); B's first invoice claims it as B's link."""
    linked, second = two_organisations
    harness = linked.harness
    account = ACCOUNT_IDS[1]
    harness.connector.update("accounts", account, {schema.CUSTOMER_XERO_CONTACT_ID: WAYNE})

    _invoice_for(linked, harness.connection_id, "For A", account=account)
    _invoice_for(linked, second, "For B", account=account)

    [in_a] = harness.xero.state(TENANT_A_ID)["Invoices"]
    [in_b] = harness.xero.state(TENANT_B_ID)["Invoices"]
    assert in_b["Contact"]["ContactID"] == WAYNE
    assert in_a["Contact"]["ContactID"] != WAYNE
    links = harness.connector.rows(
        schema.CONTACT_LINK_ENTITY_SET, **{"$filter": f"_{schema.CONTACT_LINK_ACCOUNT}_value eq {account}"}
    )
    by_connection = {row[f"_{schema.LINK_CONNECTION}_value"]: row[schema.CONTACT_LINK_XERO_CONTACT_ID] for row in links}
    assert by_connection == {harness.connection_id: in_a["Contact"]["ContactID"], second: WAYNE}
    assert harness.connector.get("accounts", account)[schema.CUSTOMER_XERO_CONTACT_ID] == WAYNE, "left as it was"


def test_a_currency_one_organisation_has_not_enabled_is_refused_there_before_xero_is_called(two_organisations):
    """Organisation B has GBP and EUR only: a USD invoice fails in Dynamics with what to do, and B sees no call."""
    linked, second = two_organisations
    harness = linked.harness
    invoice_id = str(
        harness.person.create(
            "invoices",
            {
                "name": "Dollars for Northwind",
                "customerid_account@odata.bind": f"/accounts({CUSTOMER})",
                "pricelevelid@odata.bind": f"/pricelevels({USD_PRICE_LIST_ID})",
                "transactioncurrencyid@odata.bind": f"/transactioncurrencies({USD_CURRENCY_ID})",
                "datedelivered": date.today().isoformat(),
                "duedate": (date.today() + timedelta(days=30)).isoformat(),
            },
        )["invoiceid"]
    )
    harness.person.create(
        "invoicedetails",
        {
            "invoiceid@odata.bind": f"/invoices({invoice_id})",
            "isproductoverridden": True,
            "productdescription": "Consulting",
            "quantity": 1,
            "priceperunit": 100,
        },
    )
    assert reference_data_main(["import", "--connection", second, "--now"]) == 0  # B's chart and currencies
    calls_before = harness.xero.calls()[TENANT_B_ID]["calls"]
    harness.person.update(
        "invoices", invoice_id, schema.bind(schema.lookup("invoice", schema.INVOICE_CONNECTION), second)
    )
    linked.settle()

    assert harness.invoice_row(invoice_id)[schema.INVOICE_EXPORT_STATUS] == int(ExportStatus.FAILED)
    details = harness.history(invoice_id)[-1][schema.SYNC_HISTORY_DETAILS]
    assert "The invoice is in USD, which is not enabled in Northwind Goods Ltd (enabled: EUR, GBP)" in details
    assert harness.xero.state(TENANT_B_ID)["Invoices"] == []
    assert harness.xero.calls()[TENANT_B_ID]["calls"] == calls_before, "nothing was asked of organisation B"
