"""The Xero document built from a Dynamics invoice (mappers/xero_invoice.py), one test per rule."""

from __future__ import annotations

import subprocess
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from xero_python.accounting import CreditNote, CurrencyCode
from xero_python.accounting import Invoice as XeroInvoice
from xero_python.accounting import LineAmountTypes as XeroLineAmountTypes
from xero_python.api_client.serializer import serialize

from app.dynamics_schema import BundleHandling, DefaultInvoiceStatus, InvoiceType, LineAmountTypes, SyncAction
from app.errors import Permanent
from mappers.xero_invoice import NoChange, SendDocument, build_document, idempotency_key, items_to_create
from tests.mappers.helpers import (
    CONTACT_ID,
    ORG_URL,
    XERO_INVOICE_ID,
    connection,
    invoice,
    line_row,
    line_rows,
    sent_lines,
    xero_invoice,
    xero_line,
)

KNOWN_ITEMS = frozenset({"WIDGET-001"})
TAX_TYPES = {"200": "OUTPUT2", "260": "OUTPUT2", "300": "INPUT2"}


def build(inv=None, conn=None, **kwargs) -> SendDocument:
    kwargs.setdefault("known_item_codes", KNOWN_ITEMS)
    kwargs.setdefault("account_tax_types", TAX_TYPES)
    plan = build_document(inv or invoice(), conn or connection(), contact_id=CONTACT_ID, org_url=ORG_URL, **kwargs)
    assert isinstance(plan, SendDocument)
    return plan


def wire(plan: SendDocument) -> dict:
    """The JSON the SDK puts on the wire."""
    return serialize(plan.document)


def lines_by_text(plan: SendDocument) -> dict[str, dict]:
    return {line["Description"]: line for line in wire(plan)["LineItems"]}


# --- document type --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("invoice_type", "model", "xero_type"),
    [
        (InvoiceType.SALES_INVOICE, XeroInvoice, "ACCREC"),
        (InvoiceType.PURCHASE_INVOICE, XeroInvoice, "ACCPAY"),
        (InvoiceType.SALES_CREDIT_NOTE, CreditNote, "ACCRECCREDIT"),
        (InvoiceType.PURCHASE_CREDIT_NOTE, CreditNote, "ACCPAYCREDIT"),
    ],
)
def test_invoice_type_chooses_the_xero_model_and_type(invoice_type, model, xero_type):
    plan = build(invoice(invoice_type=invoice_type))
    assert isinstance(plan.document, model)
    assert plan.document.type == xero_type
    assert plan.action is SyncAction.CREATE


# --- header ---------------------------------------------------------------------------------------------


def test_dynamics_number_is_the_xero_number_when_xero_numbering_is_off():
    assert wire(build())["InvoiceNumber"] == "INV-01001-K7Q2ZP"


def test_xero_numbers_the_invoice_when_xero_numbering_is_on():
    assert "InvoiceNumber" not in wire(build(conn=connection(use_xero_numbering=True)))


def test_bill_with_xero_numbering_carries_the_invoice_name_as_its_number():
    plan = build(invoice(invoice_type=InvoiceType.PURCHASE_INVOICE), connection(use_xero_numbering=True))
    assert wire(plan)["InvoiceNumber"] == "November consulting"


def test_credit_note_number_follows_the_numbering_setting():
    plan = build(invoice(invoice_type=InvoiceType.SALES_CREDIT_NOTE))
    assert wire(plan)["CreditNoteNumber"] == "INV-01001-K7Q2ZP"


def test_reference_is_the_invoice_name_on_sales_invoices_only():
    assert wire(build())["Reference"] == "November consulting"
    assert "Reference" not in wire(build(invoice(invoice_type=InvoiceType.PURCHASE_INVOICE)))


def test_dates_come_from_delivery_and_due_date_as_date_objects():
    document = build().document
    assert (document.date, document.due_date) == (date(2026, 11, 20), date(2026, 12, 20))
    assert wire(build())["Date"].startswith("/Date(")


def test_line_amount_types_use_the_invoice_setting_else_the_connection_default():
    assert build().document.line_amount_types is XeroLineAmountTypes.EXCLUSIVE
    own = build(invoice(line_amount_types=LineAmountTypes.INCLUSIVE))
    assert own.document.line_amount_types is XeroLineAmountTypes.INCLUSIVE
    default = build(conn=connection(default_line_amount_types=LineAmountTypes.NO_TAX))
    assert wire(default)["LineAmountTypes"] == "NoTax"


def test_branding_theme_is_sent_by_its_xero_id():
    assert wire(build())["BrandingThemeID"] == "5d4dd402-c851-497e-aae1-9ff265c0d15a"


@pytest.mark.parametrize(
    ("setting", "status"),
    [
        (DefaultInvoiceStatus.DRAFT, "DRAFT"),
        (DefaultInvoiceStatus.SUBMITTED, "SUBMITTED"),
        (DefaultInvoiceStatus.AUTHORISED, "AUTHORISED"),
    ],
)
def test_new_document_status_is_the_default_setting(setting, status):
    assert build(conn=connection(default_invoice_status=setting)).document.status == status


def test_url_links_back_to_the_dynamics_invoice():
    assert wire(build())["Url"] == (
        "https://contoso.crm11.dynamics.com/main.aspx?etn=invoice&id=9d3a6b1e-2f4c-4e8a-b7d5-1a2b3c4d5e01"
        "&pagetype=entityrecord"
    )


def test_currency_is_sent_as_the_sdk_enum():
    assert build().document.currency_code is CurrencyCode.GBP


def test_unknown_currency_fails_permanently_in_plain_words():
    with pytest.raises(Permanent) as failure:
        build(invoice(currency_code="XXY"))
    assert "currency 'XXY'" in failure.value.user_message


def test_contact_is_sent_by_id():
    assert wire(build())["Contact"]["ContactID"] == CONTACT_ID


# --- lines ----------------------------------------------------------------------------------------------


def test_line_carries_description_quantity_and_unit_amount():
    line = lines_by_text(build())["Installation\nOn site, two engineers"]
    assert (line["Quantity"], line["UnitAmount"]) == (1.5, 95.0)


def test_discount_is_a_rate_on_sales_invoices():
    line = lines_by_text(build())["Gadget\nBlue finish"]
    assert line["DiscountRate"] == 10.0
    assert line["UnitAmount"] == 40.0


def test_discount_is_folded_into_the_price_where_xero_takes_none():
    for invoice_type in (InvoiceType.PURCHASE_INVOICE, InvoiceType.SALES_CREDIT_NOTE):
        line = lines_by_text(build(invoice(invoice_type=invoice_type)))["Gadget\nBlue finish"]
        assert "DiscountRate" not in line
        assert line["Quantity"] * line["UnitAmount"] == 72.0


def test_account_code_is_the_line_override_else_the_connection_default_for_the_type():
    sales = lines_by_text(build())
    assert sales["Gadget\nBlue finish"]["AccountCode"] == "260"
    assert sales["Widget"]["AccountCode"] == "200"
    bill = lines_by_text(build(invoice(invoice_type=InvoiceType.PURCHASE_INVOICE)))
    assert bill["Widget"]["AccountCode"] == "300"


def test_tax_type_is_the_line_override_else_the_accounts_default():
    bill = lines_by_text(build(invoice(invoice_type=InvoiceType.PURCHASE_INVOICE)))
    assert bill["Gadget\nBlue finish"]["TaxType"] == "OUTPUT2"  # chosen on the line
    assert bill["Widget"]["TaxType"] == "INPUT2"  # account 300's default


def test_tracking_goes_as_name_and_option():
    line = lines_by_text(build())["Gadget\nBlue finish"]
    assert line["Tracking"] == [{"Name": "Region", "Option": "North"}, {"Name": "Department", "Option": "Sales"}]


def test_existing_product_whose_item_exists_carries_its_item_code():
    assert lines_by_text(build())["Widget"]["ItemCode"] == "WIDGET-001"


def test_unknown_item_is_left_out_when_creating_items_is_off():
    assert "ItemCode" not in lines_by_text(build())["Gadget\nBlue finish"]


def test_unknown_item_is_used_when_items_may_be_created():
    plan = build(conn=connection(create_items=True))
    assert lines_by_text(plan)["Gadget\nBlue finish"]["ItemCode"] == "GADGET"
    created = items_to_create(invoice(), connection(create_items=True), KNOWN_ITEMS)
    assert sorted(item.code for item in created) == ["GADGET", "KIT-100"]
    assert items_to_create(invoice(), connection(), KNOWN_ITEMS) == []


def test_write_in_has_no_item_code():
    assert (
        "ItemCode"
        not in lines_by_text(build(conn=connection(create_items=True)))["Installation\nOn site, two engineers"]
    )


def test_write_in_with_zero_quantity_and_price_is_a_description_only_line():
    assert lines_by_text(build())["Delivery in two parts, see schedule"] == {
        "Description": "Delivery in two parts, see schedule"
    }


def _priced(suffix: str, price: str) -> dict:
    changed = line_row(suffix)
    changed["priceperunit"] = float(price)
    changed.pop("baseamount", None)
    return changed


def _lines_with(**prices: str) -> list[dict]:
    """The recorded lines, with the lines named by id suffix ("005" bundle, "006"/"007" components) repriced."""
    replaced = {suffix.lstrip("_"): price for suffix, price in prices.items()}
    return [
        _priced(r["invoicedetailid"][-3:], replaced[r["invoicedetailid"][-3:]])
        if r["invoicedetailid"][-3:] in replaced
        else r
        for r in line_rows()
    ]


def test_bundle_header_only_sends_the_bundle_line_without_its_unpriced_components():
    plan = build()
    texts = [line["Description"] for line in wire(plan)["LineItems"]]
    assert texts == [
        "Widget",
        "Gadget\nBlue finish",
        "Installation\nOn site, two engineers",
        "Delivery in two parts, see schedule",
        "Starter kit",
    ]


def test_bundle_components_replace_the_unpriced_bundle_line():
    plan = build(invoice(lines=_lines_with(_005="0")), conn=connection(bundle_handling=BundleHandling.COMPONENTS))
    texts = [line["Description"] for line in wire(plan)["LineItems"]]
    assert "Starter kit" not in texts
    assert texts[-2:] == ["Widget", "Gadget"]
    assert plan.line_ids[-2:] == ("8b2e4c6a-1d3f-4a5b-9c7d-000000001006", "8b2e4c6a-1d3f-4a5b-9c7d-000000001007")


@pytest.mark.parametrize("handling", list(BundleHandling))
def test_a_line_dynamics_counts_money_on_is_sent_in_either_bundle_mode(handling):
    """Dynamics adds every line into its total, so Xero gets every priced line: the totals stay equal."""
    inv = invoice()
    plan = build(inv, conn=connection(bundle_handling=handling))
    sent = sum(PricedAmount.of(item) for item in plan.document.line_items)
    assert sent == sum(line.net_amount for line in inv.lines)


class PricedAmount:
    @staticmethod
    def of(item) -> Decimal:
        if item.quantity is None:
            return Decimal(0)
        from mappers.rounding import xero_line_amount

        return xero_line_amount(Decimal(item.quantity), Decimal(item.unit_amount), item.discount_rate)


def test_approved_invoice_without_due_date_fails_in_plain_words():
    with pytest.raises(Permanent) as failure:
        build(invoice(due_date=None))
    assert "no due date" in failure.value.user_message
    draft = build(invoice(due_date=None), connection(default_invoice_status=DefaultInvoiceStatus.DRAFT))
    assert draft.document.due_date is None


def test_approved_invoice_without_any_account_code_fails_in_plain_words():
    no_default = connection(default_sales_account_code=None)
    with pytest.raises(Permanent) as failure:
        build(conn=no_default)
    assert "Widget" in failure.value.user_message and "account code" in failure.value.user_message


# --- updates --------------------------------------------------------------------------------------------


def test_unpaid_update_sends_existing_line_item_ids_back():
    plan = build(existing=xero_invoice("AUTHORISED"))
    assert plan.action is SyncAction.UPDATE
    assert plan.document.invoice_id == XERO_INVOICE_ID
    assert [line.line_item_id for line in plan.document.line_items] == ["x-1", "x-2", "x-3", "x-4", "x-5"]


def test_unpaid_update_pairs_reordered_edited_and_new_lines():
    rows = [
        line_row("003"),
        {**line_row("001"), "description": "Now in red"},
        line_row("002"),
        {**line_row("004"), "productdescription": "A new note"},
    ]
    rows = [{**r, "sequencenumber": i} for i, r in enumerate(rows)]
    old = [line for line in sent_lines() if line.line_item_id in ("x-1", "x-2", "x-3")]
    plan = build(invoice(lines=rows), existing=xero_invoice("DRAFT", lines=old))
    ids = {line.description: line.line_item_id for line in plan.document.line_items}
    assert ids["Installation\nOn site, two engineers"] == "x-3"  # moved, same text
    assert ids["Gadget\nBlue finish"] == "x-2"
    assert ids["Widget\nNow in red"] == "x-1"  # text edited: keeps its place
    assert ids["A new note"] is None  # new in Dynamics


def test_update_never_moves_the_status_back():
    draft_setting = connection(default_invoice_status=DefaultInvoiceStatus.DRAFT)
    assert build(conn=draft_setting, existing=xero_invoice("AUTHORISED")).document.status == "AUTHORISED"
    assert build(existing=xero_invoice("DRAFT")).document.status == "AUTHORISED"


def test_paid_invoice_gets_only_the_fields_xero_still_allows():
    paid = xero_invoice("PAID", paid="437.40")
    changed = [
        {**line_row("001"), "quantity": 5, "description": "Spare"},
        *[line_row(s) for s in ("002", "003", "004", "005")],
    ]
    plan = build(invoice(lines=changed, name="Renamed", due_date=date(2027, 1, 31)), existing=paid)
    body = wire(plan)
    assert plan.restricted
    assert set(body) <= {
        "InvoiceID",
        "Reference",
        "DueDate",
        "InvoiceNumber",
        "BrandingThemeID",
        "Url",
        "LineItems",
        "HasAttachments",
        "HasErrors",
    }
    assert body["Reference"] == "Renamed"
    first = body["LineItems"][0]
    assert (first["LineItemID"], first["Description"], first["Quantity"]) == ("x-1", "Widget\nSpare", 4.0)
    assert any("quantities, prices" in note for note in plan.notes)


def test_paid_invoice_keeps_lines_removed_or_added_in_dynamics_and_says_so():
    partly = xero_invoice("AUTHORISED", paid="10.00")
    rows = [
        line_row("001"),
        line_row("002"),
        {
            **line_row("003"),
            "productdescription": "Extra",
            "description": None,
            "invoicedetailid": "8b2e4c6a-1d3f-4a5b-9c7d-000000009999",
        },
    ]
    plan = build(invoice(lines=rows), existing=partly)
    assert [line.line_item_id for line in plan.document.line_items] == ["x-1", "x-2", "x-3", "x-4", "x-5"]
    assert plan.line_ids[:2] == ("8b2e4c6a-1d3f-4a5b-9c7d-000000001001", "8b2e4c6a-1d3f-4a5b-9c7d-000000001002")
    notes = " ".join(plan.notes)
    assert "payments or credits in Xero" in notes and "removed in Dynamics were kept" in notes


@pytest.mark.parametrize(("status", "word"), [("VOIDED", "voided"), ("DELETED", "deleted")])
def test_voided_or_deleted_in_xero_changes_nothing_and_says_why(status, word):
    plan = build_document(
        invoice(), connection(), contact_id=CONTACT_ID, org_url=ORG_URL, existing=xero_invoice(status)
    )
    assert isinstance(plan, NoChange)
    assert plan.xero_status == status and f"was {word} there" in plan.reason


def test_changing_the_type_after_sending_fails_in_plain_words():
    with pytest.raises(Permanent) as failure:
        build(invoice(invoice_type=InvoiceType.PURCHASE_INVOICE), existing=xero_invoice("DRAFT"))
    assert "sales invoice in Xero" in failure.value.user_message


# --- idempotency ----------------------------------------------------------------------------------------


def test_idempotency_key_is_short_stable_and_follows_the_content():
    first, again = build().document, build().document
    key = idempotency_key(first)
    assert len(key) <= 128 and key == idempotency_key(again)
    assert idempotency_key(build(invoice(name="Other")).document) != key
    assert idempotency_key(first, scope="v2") != key


def test_idempotency_key_covers_a_batch_in_its_order():
    one, other = build().document, build(invoice(name="Other")).document
    assert idempotency_key([one]) == idempotency_key(one)
    assert idempotency_key([one, other]) != idempotency_key([other, one])
    assert idempotency_key([one, other]) not in (idempotency_key(one), idempotency_key(other))


def test_idempotency_key_is_the_same_in_another_process():
    code = (
        "from tests.mappers.test_xero_invoice import build; from mappers.xero_invoice import idempotency_key; "
        "print(idempotency_key(build().document))"
    )
    root = Path(__file__).resolve().parents[2]
    other = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=root,
        check=True,
        env={"PYTHONHASHSEED": "12345", "PATH": ""},
    )
    assert other.stdout.strip() == idempotency_key(build().document)


def test_decimal_amounts_survive_exactly():
    plan = build(invoice(lines=[{**line_row("001"), "priceperunit": 0.1, "quantity": 3}]))
    assert plan.document.line_items[0].unit_amount == Decimal("0.1")


def test_note_lines_need_no_account_code_even_when_approved():
    plan = build(invoice(lines=[line_row("004")]), connection(default_sales_account_code=None))
    assert plan.document.line_items[0].account_code is None


def test_xero_line_helper_matches_what_was_sent():
    # Guards the fixtures used above: the recorded Xero lines describe the recorded Dynamics lines.
    sent = [line["Description"] for line in wire(build())["LineItems"]]
    assert sent == [line.description for line in sent_lines()]
    assert xero_line("x", line_id="n").quantity is None


def test_paid_invoice_update_does_not_demand_what_only_new_documents_need():
    plan = build(
        invoice(due_date=None),
        connection(default_sales_account_code=None),
        existing=xero_invoice("PAID", paid="437.40"),
    )
    assert plan.restricted and "DueDate" not in wire(plan)
