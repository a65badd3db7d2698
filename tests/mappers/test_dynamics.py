"""Reading Web API rows into the mappers' types (mappers/dynamics.py), on the recorded row fixtures."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from app.dynamics_schema import (
    BundleHandling,
    ConnectionStatus,
    DefaultInvoiceStatus,
    ExportStatus,
    InvoiceType,
    LineAmountTypes,
)
from mappers.dynamics import (
    ConnectionSettings,
    Customer,
    CustomerKind,
    Invoice,
    InvoiceLine,
    InvoiceState,
    ProductType,
    TrackingChoice,
    XeroDocumentType,
    connection_query,
    customer_query,
    invoice_lines_query,
    invoice_query,
)
from tests.mappers.helpers import line_row, line_rows, row


def test_connection_settings_are_read_from_the_connection_row():
    settings = ConnectionSettings.from_row(row("connection"))
    assert settings.id == "7e1f0c2a-5b7d-4c1e-9a61-0c0ffee00001"
    assert settings.xero_tenant_id == "b1d6f7a2-3c4e-4f5a-8b9c-0d1e2f3a4b5c"
    assert settings.xero_tenant_name == "Demo Company (UK)"
    assert settings.xero_short_code == "!Kf7Qm"
    assert settings.is_default is True
    assert settings.use_xero_numbering is False
    assert settings.create_contacts is True
    assert settings.create_items is False
    assert settings.default_invoice_status is DefaultInvoiceStatus.AUTHORISED
    assert settings.default_sales_account_code == "200"
    assert settings.default_purchase_account_code == "300"
    assert settings.create_credit_note is True
    assert settings.time_zone == "Europe/London"
    assert settings.bundle_handling is BundleHandling.HEADER_ONLY
    assert settings.default_line_amount_types is LineAmountTypes.EXCLUSIVE
    assert settings.status is ConnectionStatus.CONNECTED


def test_unset_connection_settings_take_the_schema_defaults():
    settings = ConnectionSettings.from_row(row("connection_new"))
    assert settings.time_zone == "UTC"
    assert settings.default_invoice_status is DefaultInvoiceStatus.DRAFT
    assert settings.create_contacts is True  # the column's default is Yes
    assert (settings.create_items, settings.create_credit_note, settings.use_xero_numbering) == (False, False, False)
    assert settings.status is ConnectionStatus.DISCONNECTED
    assert settings.default_sales_account_code is None


def test_unknown_time_zone_falls_back_to_utc():
    settings = ConnectionSettings.from_row({**row("connection"), "xc_timezone": "Mars/Olympus_Mons"})
    assert settings.time_zone == "UTC"


def test_default_account_code_follows_the_document_type():
    settings = ConnectionSettings.from_row(row("connection"))
    assert settings.default_account_code(XeroDocumentType.ACCREC) == "200"
    assert settings.default_account_code(XeroDocumentType.ACCRECCREDIT) == "200"
    assert settings.default_account_code(XeroDocumentType.ACCPAY) == "300"
    assert settings.default_account_code(XeroDocumentType.ACCPAYCREDIT) == "300"


def test_customer_account_row():
    customer = Customer.from_row(row("account"))
    assert customer.kind is CustomerKind.ACCOUNT
    assert (customer.name, customer.email, customer.account_number) == (
        "Contoso Ltd",
        "accounts@contoso.example",
        "CON-001",
    )
    assert customer.xero_contact_id == "3f1c9e0a-8b7d-4e6f-a5b4-c3d2e1f0a9b8"
    assert customer.ref.kind.entity_set == "accounts"


def test_customer_contact_row():
    customer = Customer.from_row(row("contact"))
    assert customer.kind is CustomerKind.CONTACT
    assert (customer.name, customer.first_name, customer.last_name) == ("Sarah Connor", "Sarah", "Connor")
    assert customer.xero_contact_id is None
    assert customer.ref.kind.entity_set == "contacts"


def test_invoice_header_is_read_with_its_expansions():
    invoice = Invoice.from_row(row("invoice"), line_rows(), time_zone="Europe/London")
    assert invoice.id == "9d3a6b1e-2f4c-4e8a-b7d5-1a2b3c4d5e01"
    assert (invoice.number, invoice.name) == ("INV-01001-K7Q2ZP", "November consulting")
    assert invoice.customer is not None and invoice.customer.kind is CustomerKind.ACCOUNT
    assert invoice.customer.name == "Contoso Ltd"
    assert invoice.currency_code == "GBP"
    assert invoice.price_list_id == "5c0e0a5e-0000-4000-8000-000000000201"
    assert (invoice.date_delivered, invoice.due_date) == (date(2026, 11, 20), date(2026, 12, 20))
    assert invoice.state is InvoiceState.ACTIVE
    assert invoice.invoice_type is InvoiceType.SALES_INVOICE
    assert invoice.export_status is ExportStatus.NO
    assert invoice.connection_id == "7e1f0c2a-5b7d-4c1e-9a61-0c0ffee00001"
    assert invoice.branding_theme_xero_id == "5d4dd402-c851-497e-aae1-9ff265c0d15a"
    assert invoice.line_amount_types is None
    assert invoice.xero_invoice_id is None
    assert invoice.total_amount == Decimal("494.5")


def test_customer_kind_comes_from_the_lookup_logical_name():
    raw = {
        **row("invoice"),
        "_customerid_value": "5c0e0a5e-0000-4000-8000-000000000501",
        "_customerid_value@Microsoft.Dynamics.CRM.lookuplogicalname": "contact",
    }
    invoice = Invoice.from_row(raw, [])
    assert invoice.customer is not None and invoice.customer.kind is CustomerKind.CONTACT


def test_user_local_delivery_date_is_the_day_in_the_connections_time_zone():
    # 20 Nov 00:00 in Sydney (UTC+11 in summer) is 19 Nov 13:00 UTC.
    raw = {**row("invoice"), "datedelivered": "2026-11-19T13:00:00Z"}
    assert Invoice.from_row(raw, [], time_zone="Australia/Sydney").date_delivered == date(2026, 11, 20)
    assert Invoice.from_row(raw, [], time_zone="UTC").date_delivered == date(2026, 11, 19)


@pytest.mark.parametrize(
    ("invoice_type", "xero_type"),
    [
        (InvoiceType.SALES_INVOICE, "ACCREC"),
        (InvoiceType.PURCHASE_INVOICE, "ACCPAY"),
        (InvoiceType.SALES_CREDIT_NOTE, "ACCRECCREDIT"),
        (InvoiceType.PURCHASE_CREDIT_NOTE, "ACCPAYCREDIT"),
    ],
)
def test_invoice_type_maps_to_the_xero_document_type(invoice_type, xero_type):
    invoice = Invoice.from_row({**row("invoice"), "xc_invoicetype": int(invoice_type)}, [])
    assert invoice.xero_type.value == xero_type


def test_lines_follow_the_sequence_dynamics_shows_not_the_read_order():
    invoice = Invoice.from_row(row("invoice"), line_rows())
    assert [line.id[-3:] for line in invoice.lines] == ["001", "002", "003", "004", "005", "006", "007"]
    assert line_rows()[0]["invoicedetailid"].endswith("003")


def test_existing_product_line_carries_product_and_item_code():
    widget = InvoiceLine.from_row(line_row("001"))
    assert (widget.product_number, widget.product_name, widget.is_write_in) == ("WIDGET-001", "Widget", False)
    assert widget.item_code == "WIDGET-001"
    gadget = InvoiceLine.from_row(line_row("002"))
    assert gadget.item_code == "GADGET"  # the Xero item code stored on the product wins over its number


def test_write_in_line_has_its_text_and_no_item_code():
    line = InvoiceLine.from_row(line_row("003"))
    assert line.is_write_in and line.item_code is None
    assert line.text_for_xero == "Installation\nOn site, two engineers"


def test_line_amounts_are_exact_decimals():
    line = InvoiceLine.from_row({**line_row("002"), "priceperunit": 0.1, "quantity": 3})
    assert line.price_per_unit == Decimal("0.1")
    assert line.net_amount == Decimal("0.3") - Decimal("8")
    assert InvoiceLine.from_row(line_row("002")).manual_discount == Decimal("8.0")


def test_line_reference_lookups_resolve_account_code_tax_type_and_tracking():
    line = InvoiceLine.from_row(line_row("002"))
    assert line.account_code == "260"
    assert line.tax_type == "OUTPUT2"
    assert line.tracking == (TrackingChoice("Region", "North"), TrackingChoice("Department", "Sales"))


def test_write_in_with_nothing_to_charge_is_a_note():
    assert InvoiceLine.from_row(line_row("004")).is_note
    assert not InvoiceLine.from_row(line_row("003")).is_note


def test_bundle_and_components_are_recognised():
    bundle, required, optional = (InvoiceLine.from_row(line_row(s)) for s in ("005", "006", "007"))
    assert bundle.is_bundle and bundle.product_type is ProductType.BUNDLE
    assert required.is_bundle_component and required.parent_bundle_id == bundle.id
    assert optional.is_bundle_component and not optional.is_bundle


def test_queries_ask_for_what_the_readers_use():
    assert "xc_AccountCodeId($select=xc_code)" in invoice_lines_query("abc")["$expand"]
    assert "xc_TrackingOption2Id($select=xc_name,_xc_trackingcategoryid_value)" in invoice_lines_query("abc")["$expand"]
    assert invoice_lines_query("abc")["$filter"] == "_invoiceid_value eq abc"
    assert "transactioncurrencyid($select=isocurrencycode)" in invoice_query()["$expand"]
    assert "_xc_connectionid_value" in invoice_query()["$select"].split(",")
    assert "xc_timezone" in connection_query()["$select"].split(",")
    assert "accountnumber" in customer_query(CustomerKind.ACCOUNT)["$select"]
    assert "fullname" in customer_query(CustomerKind.CONTACT)["$select"]


def test_a_row_without_its_primary_key_is_refused():
    with pytest.raises(ValueError, match="invoiceid"):
        Invoice.from_row({"name": "no id"}, [])
