"""Invoices through the real xero-python SDK: creation, numbering, batches, validation, updates and reads."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from xero_python.accounting import Contact, Invoice, Invoices, LineItem
from xero_python.exceptions import AccountingBadRequestException, NotFoundException

from sandbox.xero.sdk import SdkClient
from tests.sandbox.xero.builders import ACME_ID, GLOBEX_ID, INITECH_ID, invoice, line, tracking


def create(client: SdkClient, *docs: Invoice, **kwargs: object) -> list[Invoice]:
    return client.accounting.create_invoices(client.tenant_id, Invoices(invoices=list(docs)), **kwargs).invoices


def test_create_invoice_returns_xero_shaped_document(xero_client: SdkClient) -> None:
    (created,) = create(
        xero_client, invoice([line(quantity=3, unit_amount=19.99, tracking=[tracking("Region", "North")])])
    )
    assert created.invoice_number == "INV-0001"
    assert created.status == "AUTHORISED"
    assert created.contact.name == "Acme Corporation"
    assert created.line_items[0].tracking[0].option == "North"
    assert created.line_items[0].line_item_id
    assert created.date == dt.date(2026, 1, 10)
    assert created.updated_date_utc.tzinfo is not None
    fetched = xero_client.accounting.get_invoice(xero_client.tenant_id, created.invoice_id).invoices[0]
    assert fetched.total == created.total == Decimal("71.96")


def test_accrec_numbers_are_sequential_and_unique(xero_client: SdkClient) -> None:
    first, second = create(xero_client, invoice(), invoice())
    assert (first.invoice_number, second.invoice_number) == ("INV-0001", "INV-0002")
    with pytest.raises(AccountingBadRequestException) as error:
        create(xero_client, invoice(invoice_number="INV-0001"))
    assert error.value.reason == "Invoice # must be unique."


def test_bills_may_share_a_number(xero_client: SdkClient) -> None:
    bill = {"kind": "ACCPAY", "contact_id": INITECH_ID, "invoice_number": "SUP-7"}
    one, two = create(
        xero_client,
        invoice([line(account_code="300", tax_type="INPUT2")], **bill),
        invoice([line(account_code="300", tax_type="INPUT2")], **bill),
    )
    assert one.invoice_number == two.invoice_number == "SUP-7"


@pytest.mark.parametrize(
    ("amounts", "lines", "sub_total", "tax", "total"),
    [
        ("Exclusive", [line(quantity=3, unit_amount=19.99)], "59.97", "11.99", "71.96"),
        ("Inclusive", [line(unit_amount=120)], "100.00", "20.00", "120.00"),
        ("Inclusive", [line(unit_amount=10.01)], "8.34", "1.67", "10.01"),
        ("NoTax", [line(unit_amount=50, tax_type=None)], "50.00", "0.00", "50.00"),
        # Tax is rounded per line, then summed: 3 x round(0.206) = 0.63, not round(0.618) = 0.62.
        ("Exclusive", [line(unit_amount=1.03)] * 3, "3.09", "0.63", "3.72"),
        ("Exclusive", [line(quantity=2, unit_amount=50, discount_rate=10)], "90.00", "18.00", "108.00"),
        (
            "Exclusive",
            [line(unit_amount=80, tax_type="ZERORATEDOUTPUT"), line(unit_amount=10, tax_type="RROUTPUT")],
            "90.00",
            "0.50",
            "90.50",
        ),
        ("Exclusive", [line(unit_amount=0.125)], "0.13", "0.03", "0.16"),
    ],
)
def test_tax_maths(
    xero_client: SdkClient, amounts: str, lines: list[LineItem], sub_total: str, tax: str, total: str
) -> None:
    (created,) = create(xero_client, invoice(lines, amounts=amounts))
    assert (created.sub_total, created.total_tax, created.total) == (Decimal(sub_total), Decimal(tax), Decimal(total))
    assert created.amount_due == Decimal(total)


def test_no_tax_lines_carry_tax_type_none(xero_client: SdkClient) -> None:
    (created,) = create(xero_client, invoice([line(tax_type="OUTPUT2")], amounts="NoTax"))
    assert created.line_items[0].tax_type == "NONE"
    assert created.line_items[0].tax_amount == 0


def test_description_only_line_is_a_note(xero_client: SdkClient) -> None:
    (created,) = create(xero_client, invoice([line(unit_amount=10), LineItem(description="Thanks for your order")]))
    note = created.line_items[1]
    assert note.description == "Thanks for your order"
    assert note.line_amount == 0 and note.account_code is None
    assert created.total == Decimal("12.00")


def test_item_code_fills_price_account_and_tax(xero_client: SdkClient) -> None:
    (created,) = create(xero_client, invoice([LineItem(item_code="WIDGET", quantity=2)]))
    first = created.line_items[0]
    assert (first.unit_amount, first.account_code, first.tax_type) == (Decimal("25.00"), "200", "OUTPUT2")
    assert created.total == Decimal("60.00")


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        (invoice([line(account_code="999")]), "Account code '999' is not a valid code for this document."),
        (invoice([line(account_code="205")]), "Account code '205' is not a valid code for this document."),
        (
            invoice([line(tax_type="BOGUS")]),
            "The TaxType code 'BOGUS' does not exist or cannot be used for this type of transaction.",
        ),
        (
            invoice(
                [
                    line(
                        tracking=[
                            tracking("Region", "North"),
                            tracking("Department", "Ops"),
                            tracking("Region", "South"),
                        ]
                    )
                ]
            ),
            "A maximum of 2 tracking categories can be applied to a line item",
        ),
        (
            invoice([line(tracking=[tracking("Region", "East")])]),
            "The TrackingOption 'East' is not valid for TrackingCategory 'Region'",
        ),
        (invoice([line(tracking=[tracking("Colour", "Red")])]), "Tracking category 'Colour' is not valid"),
        (
            invoice(
                [line(account_code="300", tax_type="INPUT2", discount_rate=5)], kind="ACCPAY", contact_id=INITECH_ID
            ),
            "Discounts are only supported on sales invoices and credit notes",
        ),
        (invoice(due=None), "The document DueDate field must be specified."),
        (
            invoice(contact_id="00000000-0000-0000-0000-000000000000"),
            "The contact with ID 00000000-0000-0000-0000-000000000000 could not be found",
        ),
    ],
)
def test_validation_errors_use_xeros_400_shape(xero_client: SdkClient, doc: Invoice, message: str) -> None:
    with pytest.raises(AccountingBadRequestException) as error:
        create(xero_client, doc)
    body = error.value.error_data
    assert body["Type"] == "ValidationException" and body["ErrorNumber"] == 10
    assert message in [m["Message"] for m in body["Elements"][0]["ValidationErrors"]]


def test_draft_may_omit_due_date_and_account(xero_client: SdkClient) -> None:
    (created,) = create(
        xero_client, invoice([LineItem(description="Work", quantity=1, unit_amount=10)], status="DRAFT", due=None)
    )
    assert created.status == "DRAFT" and created.due_date is None


def test_batch_with_one_bad_element_fails_whole_and_saves_nothing(xero_client: SdkClient) -> None:
    with pytest.raises(AccountingBadRequestException) as error:
        create(xero_client, invoice(), invoice([line(account_code="999")]))
    assert len(error.value.error_data["Elements"]) == 1
    assert xero_client.accounting.get_invoices(xero_client.tenant_id).invoices == []


def test_batch_without_summarized_errors_reports_each_element(xero_client: SdkClient) -> None:
    results = create(xero_client, invoice(), invoice([line(account_code="999")]), invoice(), summarize_errors=False)
    assert [r.status_attribute_string for r in results] == ["OK", "ERROR", "OK"]
    assert results[1].validation_errors[0].message.startswith("Account code '999'")
    assert results[1].has_errors is True
    assert [r.invoice_number for r in (results[0], results[2])] == ["INV-0001", "INV-0002"]
    assert len(xero_client.accounting.get_invoices(xero_client.tenant_id).invoices) == 2


def test_contact_by_name_is_found_or_created(xero_client: SdkClient) -> None:
    existing, new = create(
        xero_client,
        Invoice(type="ACCREC", contact=Contact(name="acme corporation"), line_items=[line()]),
        Invoice(type="ACCREC", contact=Contact(name="Brand New Customer"), line_items=[line()]),
    )
    assert existing.contact.contact_id == ACME_ID
    assert new.contact.contact_id != ACME_ID
    fetched = xero_client.accounting.get_contact(xero_client.tenant_id, new.contact.contact_id).contacts[0]
    assert fetched.name == "Brand New Customer"


def test_update_keeps_sent_line_ids_and_recreates_others(xero_client: SdkClient) -> None:
    (created,) = create(xero_client, invoice([line(unit_amount=10), line(unit_amount=20)], status="DRAFT"))
    kept = created.line_items[0]
    kept.quantity = 2
    kept.line_amount = None
    update = Invoice(invoice_id=created.invoice_id, reference="PO-42", line_items=[kept, line(unit_amount=5)])
    (updated,) = xero_client.accounting.update_invoice(
        xero_client.tenant_id, created.invoice_id, Invoices(invoices=[update])
    ).invoices
    ids = [li.line_item_id for li in updated.line_items]
    assert ids[0] == kept.line_item_id
    assert ids[1] not in {li.line_item_id for li in created.line_items}
    assert updated.sub_total == Decimal("25.00") and updated.reference == "PO-42"
    assert updated.updated_date_utc >= created.updated_date_utc


def test_round_trip_of_a_fetched_invoice_is_accepted(xero_client: SdkClient) -> None:
    (created,) = create(xero_client, invoice([line(quantity=2, unit_amount=12.5)]))
    fetched = xero_client.accounting.get_invoice(xero_client.tenant_id, created.invoice_id).invoices[0]
    fetched.reference = "changed"
    (updated,) = xero_client.accounting.update_or_create_invoices(
        xero_client.tenant_id, Invoices(invoices=[fetched])
    ).invoices
    assert updated.invoice_id == created.invoice_id and updated.reference == "changed"
    assert updated.total == created.total


def test_post_without_id_creates_and_with_number_updates(xero_client: SdkClient) -> None:
    (created,) = xero_client.accounting.update_or_create_invoices(
        xero_client.tenant_id, Invoices(invoices=[invoice(status="DRAFT")])
    ).invoices
    (again,) = xero_client.accounting.update_or_create_invoices(
        xero_client.tenant_id,
        Invoices(invoices=[Invoice(invoice_number=created.invoice_number, type="ACCREC", reference="by number")]),
    ).invoices
    assert again.invoice_id == created.invoice_id and again.reference == "by number"


def test_list_filters_paging_and_modified_since(xero_client: SdkClient, xero_sandbox: object) -> None:
    tenant = xero_client.tenant_id
    docs = create(xero_client, *[invoice(status="DRAFT") for _ in range(3)], invoice(contact_id=GLOBEX_ID))
    api = xero_client.accounting
    assert {i.invoice_id for i in api.get_invoices(tenant, statuses=["DRAFT"]).invoices} == {
        d.invoice_id for d in docs[:3]
    }
    assert [i.invoice_number for i in api.get_invoices(tenant, invoice_numbers=["INV-0002"]).invoices] == ["INV-0002"]
    assert [i.invoice_id for i in api.get_invoices(tenant, contact_i_ds=[GLOBEX_ID]).invoices] == [docs[3].invoice_id]
    by_ids = api.get_invoices(tenant, i_ds=[docs[0].invoice_id, docs[1].invoice_id]).invoices
    assert len(by_ids) == 2 and by_ids[0].line_items
    assert api.get_invoices(tenant).invoices[0].line_items == []  # unpaged lists leave lines out
    paged = api.get_invoices(tenant, page=1, page_size=3)
    assert len(paged.invoices) == 3 and paged.pagination.item_count == 4 and paged.pagination.page_count == 2
    assert len(api.get_invoices(tenant, page=2, page_size=3).invoices) == 1
    later = api.get_invoices(tenant, if_modified_since=docs[3].updated_date_utc + dt.timedelta(seconds=1))
    assert later.invoices == []
    earlier = api.get_invoices(tenant, if_modified_since=docs[0].updated_date_utc - dt.timedelta(seconds=1))
    assert len(earlier.invoices) == 4


def test_unknown_invoice_is_404(xero_client: SdkClient) -> None:
    with pytest.raises(NotFoundException):
        xero_client.accounting.get_invoice(xero_client.tenant_id, "6f3bd3a4-1111-2222-3333-444455556666")


def test_four_decimal_unit_amounts_with_unitdp(xero_client: SdkClient) -> None:
    doc = invoice([line(quantity=3, unit_amount=1.2345)])
    (created,) = create(xero_client, doc, unitdp=4)
    assert created.line_items[0].unit_amount == Decimal("1.2345")
    assert created.sub_total == Decimal("3.70")  # 3.7035 rounded once, on the line
    (rounded,) = create(xero_client, invoice([line(quantity=3, unit_amount=1.2345)]))
    assert rounded.line_items[0].unit_amount == Decimal("1.23") and rounded.sub_total == Decimal("3.69")


def test_parallel_creation_keeps_numbers_unique(xero_sdk: Callable[..., SdkClient]) -> None:
    clients = [xero_sdk() for _ in range(4)]

    def make(client: SdkClient) -> list[str]:
        return [create(client, invoice())[0].invoice_number for _ in range(5)]

    with ThreadPoolExecutor(max_workers=4) as pool:
        numbers = [n for batch in pool.map(make, clients) for n in batch]
    assert sorted(numbers) == [f"INV-{i:04d}" for i in range(1, 21)]


def test_where_filters_and_search_term(xero_client: SdkClient) -> None:
    api, tenant = xero_client.accounting, xero_client.tenant_id
    tagged, other, _ = create(
        xero_client,
        invoice(reference="DYN-INV-7"),
        invoice(reference="DYN-INV-8"),
        invoice(contact_id=GLOBEX_ID, status="DRAFT"),
    )
    found = api.get_invoices(tenant, where='Reference=="dyn-inv-7"').invoices
    assert [i.invoice_id for i in found] == [tagged.invoice_id]
    both = api.get_invoices(tenant, where=f'Contact.ContactID==Guid("{ACME_ID}") AND Status=="AUTHORISED"')
    assert {i.invoice_id for i in both.invoices} == {tagged.invoice_id, other.invoice_id}
    assert [i.invoice_id for i in api.get_invoices(tenant, search_term="INV-8").invoices] == [other.invoice_id]
    with pytest.raises(AccountingBadRequestException) as error:
        api.get_invoices(tenant, where="Total > 5")
    assert "cannot evaluate" in error.value.error_data["Message"]


def test_lines_round_half_away_from_zero_and_quantities_keep_four_decimals(xero_client: SdkClient) -> None:
    """3 x 12.495 = 37.485 -> 37.49 (Xero rounds half away from zero, Dynamics would make it 37.48); tax per
    line: 20 % of 37.49 = 7.498 -> 7.50. A quantity of 1.23456 is kept as 1.2346."""
    (created,) = create(
        xero_client,
        invoice([line(quantity=3, unit_amount=12.495), line(quantity=1.23456, unit_amount=10)]),
        unitdp=4,
    )
    first, second = created.line_items
    assert (first.line_amount, first.tax_amount) == (Decimal("37.49"), Decimal("7.50"))
    assert (second.quantity, second.line_amount) == (Decimal("1.2346"), Decimal("12.35"))


def test_a_rounding_line_may_use_the_rounding_account_but_not_other_system_accounts(xero_client: SdkClient) -> None:
    (created,) = create(xero_client, invoice([line(), line(quantity=1, unit_amount=-0.01, account_code="860")]))
    assert created.line_items[1].account_code == "860"
    with pytest.raises(AccountingBadRequestException) as error:
        create(xero_client, invoice([line(account_code="820")]))
    assert "Account code '820' is not a valid code" in error.value.reason
