"""The Xero gateway against the sandbox Xero over HTTP, with the real xero-python SDK: the happy paths."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import pytest
from xero_python.accounting import Contact, CreditNote, Item, LineItem
from xero_python.api_client import Configuration
from xero_python.api_client.oauth2 import OAuth2Token

from app import invoice_timeline
from app.clients.xero import MAX_BATCH, NotFound, XeroGateways, XeroValidationError, derive_idempotency_key
from app.errors import Permanent
from sandbox.xero.seed import TENANT_A_ID, TENANT_B_ID
from tests.clients.xero_gateway_fixtures import *  # noqa: F403 - the pytest fixtures
from tests.clients.xero_gateway_fixtures import ACME_ID, invoices_in_xero, sales_invoice


def test_organisation_and_reference_data(xero):
    assert xero.get_organisation().short_code == "!SbxA1"
    assert "OUTPUT2" in {rate.tax_type for rate in xero.get_tax_rates()}
    assert {"200", "300"} <= {account.code for account in xero.get_accounts()}
    assert {theme.name for theme in xero.get_branding_themes()} == {"Standard", "Special Projects"}
    assert {c.name for c in xero.get_tracking_categories()} == {"Region", "Department"}


def test_create_contact_then_invoice_for_it(xero, xero_admin):
    contact = xero.create_contact(
        Contact(name="Fabrikam Ltd", email_address="ap@fabrikam.example", account_number="FAB001")
    )
    assert contact.contact_id

    created = xero.create_invoice(
        sales_invoice("DYN-0001", contact_id=contact.contact_id), idempotency_key="inv-dyn-0001"
    )

    assert created.invoice_number == "DYN-0001" and created.status == "DRAFT"
    assert created.total == Decimal("120.00")  # 100 + 20% VAT, as Xero calculates it
    stored = [i for i in invoices_in_xero(xero_admin) if i["InvoiceID"] == created.invoice_id]
    assert stored[0]["Contact"]["ContactID"] == contact.contact_id


def test_find_contact_by_name_and_email_or_account_number(xero):
    assert xero.find_contact("acme  corporation", email="ACCOUNTS@acme.example").contact_id == ACME_ID
    assert xero.find_contact("Acme Corporation", account_number="ACME001").contact_id == ACME_ID
    assert xero.find_contact("Acme Corporation").contact_id == ACME_ID
    # Same name, different email and account number: another party, not a match.
    assert xero.find_contact("Acme Corporation", email="someone@else.example", account_number="X9") is None
    assert xero.find_contact("Nobody Anywhere") is None


def test_items_by_codes_and_create_item(xero):
    found = xero.get_items_by_codes(["WIDGET", "consult", "NOPE"])
    assert set(found) == {"WIDGET", "consult"}
    assert found["consult"].code == "CONSULT"

    xero.create_item(Item(code="GADGET", name="Gadget"))
    assert xero.get_items_by_codes(["GADGET"])["GADGET"].name == "Gadget"


def test_batch_returns_each_invoice_outcome(xero, xero_admin):
    good, bad = sales_invoice("DYN-0101"), sales_invoice("DYN-0102", account_code="999")

    results = xero.save_invoices([good, bad])

    assert [r.ok for r in results] == [True, False]
    assert results[0].result().invoice_number == "DYN-0101"
    assert results[1].sent is bad
    assert any("999" in message for message in results[1].errors)
    with pytest.raises(XeroValidationError) as refused:
        results[1].result()
    assert "999" in refused.value.user_message
    numbers = {i["InvoiceNumber"] for i in invoices_in_xero(xero_admin)}
    assert "DYN-0101" in numbers and "DYN-0102" not in numbers


def test_batch_updates_invoices_that_carry_their_id(xero):
    created = xero.create_invoice(sales_invoice("DYN-0201"))
    change = sales_invoice("DYN-0201", amount="50.00")
    change.invoice_id = created.invoice_id
    change.line_items[0].line_item_id = created.line_items[0].line_item_id

    [result] = xero.save_invoices([change])

    assert result.result().invoice_id == created.invoice_id
    assert result.invoice.total == Decimal("60.00")


def test_batch_size_is_bounded(xero):
    with pytest.raises(ValueError, match="at most 50"):
        xero.save_invoices([sales_invoice() for _ in range(MAX_BATCH + 1)])


def test_update_invoice_keeps_its_lines(xero):
    created = xero.create_invoice(sales_invoice("DYN-0301"))
    change = sales_invoice("DYN-0301", amount="10.00", reference="PO-7")
    change.invoice_id = created.invoice_id
    change.line_items[0].line_item_id = created.line_items[0].line_item_id

    updated = xero.update_invoice(change)

    assert updated.reference == "PO-7" and updated.total == Decimal("12.00")
    assert updated.line_items[0].line_item_id == created.line_items[0].line_item_id


def test_validation_error_is_permanent_with_xeros_message(xero):
    with pytest.raises(Permanent) as refused:
        xero.create_invoice(sales_invoice("DYN-0401", account_code="999"))

    assert isinstance(refused.value, XeroValidationError)
    assert any("999" in m for m in refused.value.messages)
    assert "Account code '999'" in refused.value.user_message


def test_same_key_and_body_twice_creates_one_invoice(xero, xero_admin):
    invoice = sales_invoice("DYN-0501")
    first = xero.create_invoice(invoice, idempotency_key="dyn-0501-v1")
    second = xero.create_invoice(invoice, idempotency_key="dyn-0501-v1")

    assert first.invoice_id == second.invoice_id
    assert [i["InvoiceNumber"] for i in invoices_in_xero(xero_admin)].count("DYN-0501") == 1


def test_without_a_key_one_is_derived_from_the_body(xero, xero_admin):
    invoice = sales_invoice(reference="Derived key")  # Xero numbering: no number to collide on
    first, second = xero.create_invoice(invoice), xero.create_invoice(invoice)

    assert first.invoice_id == second.invoice_id
    assert [i["Reference"] for i in invoices_in_xero(xero_admin)].count("Derived key") == 1
    assert derive_idempotency_key("x", invoice) == derive_idempotency_key("x", sales_invoice(reference="Derived key"))
    assert derive_idempotency_key("x", invoice) != derive_idempotency_key("x", sales_invoice(reference="Other"))
    assert len(derive_idempotency_key("invoice-create", invoice)) <= 128


def test_invoices_by_ids_in_the_order_asked(xero):
    one, two = xero.create_invoice(sales_invoice("DYN-0601")), xero.create_invoice(sales_invoice("DYN-0602"))

    found = xero.get_invoices_by_ids([two.invoice_id, str(uuid.uuid4()), one.invoice_id])

    assert [i.invoice_number for i in found] == ["DYN-0602", "DYN-0601"]
    assert found[0].line_items, "lines are included"


def test_find_invoice_by_number_or_reference(xero):
    created = xero.create_invoice(sales_invoice(reference="Order 42"))
    xero.create_invoice(sales_invoice(reference="Order 43"))

    assert xero.find_invoice(number=created.invoice_number).invoice_id == created.invoice_id
    assert xero.find_invoice(reference="Order 42", contact_id=ACME_ID).invoice_id == created.invoice_id
    since = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    assert xero.find_invoice(reference="Order 42", modified_since=since).invoice_id == created.invoice_id
    assert xero.find_invoice(number="NO-SUCH-NUMBER") is None
    with pytest.raises(ValueError):
        xero.find_invoice(reference="Order 42")


def test_delete_a_draft_and_void_an_authorised_invoice(xero):
    draft = xero.create_invoice(sales_invoice("DYN-0701"))
    authorised = xero.create_invoice(sales_invoice("DYN-0702", status="AUTHORISED"))

    assert xero.delete_invoice(draft.invoice_id).status == "DELETED"
    assert xero.void_invoice(authorised.invoice_id).status == "VOIDED"
    # A deleted invoice is still found by number, but a live one would be preferred.
    assert xero.find_invoice(number="DYN-0701").status == "DELETED"


def test_deleting_an_authorised_invoice_is_refused_by_xero(xero):
    authorised = xero.create_invoice(sales_invoice("DYN-0801", status="AUTHORISED"))
    with pytest.raises(XeroValidationError):
        xero.delete_invoice(authorised.invoice_id)


def test_credit_note_for_the_full_amount_allocated_to_the_invoice(xero):
    invoice = xero.create_invoice(sales_invoice("DYN-0901", status="AUTHORISED"))
    note = xero.create_credit_note(
        CreditNote(
            type="ACCRECCREDIT",
            contact=Contact(contact_id=ACME_ID),
            date=dt.date.today(),
            status="AUTHORISED",
            reference="Cancel DYN-0901",
            line_items=[
                LineItem(
                    description="Widgets",
                    quantity=Decimal("1"),
                    unit_amount=Decimal("100.00"),
                    account_code="200",
                    tax_type="OUTPUT2",
                )
            ],
        )
    )
    assert note.total == invoice.total

    allocation = xero.allocate_credit_note(note.credit_note_id, invoice.invoice_id, invoice.total, dt.date.today())

    assert allocation.amount == invoice.total
    assert xero.get_invoice(invoice.invoice_id).amount_due == Decimal("0.00")
    since = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    found = xero.find_credit_note(reference="Cancel DYN-0901", contact_id=ACME_ID, modified_since=since)
    assert found.credit_note_id == note.credit_note_id
    assert xero.get_credit_note(note.credit_note_id).remaining_credit == Decimal("0.00")


def test_unknown_invoice_is_not_found(xero):
    with pytest.raises(NotFound) as missing:
        xero.get_invoice(str(uuid.uuid4()))
    assert "no longer exists in Xero" in missing.value.user_message


def test_two_connections_never_share_a_token(connect, monkeypatch):
    # The SDK's Configuration hands every later instance a copy of the first one, token object included:
    # make that trap live (and undo it afterwards).
    trap = Configuration()
    trap.oauth2_token = OAuth2Token(client_id="someone-else", client_secret="x")
    monkeypatch.setattr(Configuration, "_default", trap)
    assert Configuration().oauth2_token is trap.oauth2_token
    tenant_a, tenant_b = connect("conn-a", TENANT_A_ID), connect("conn-b", TENANT_B_ID)

    names = [gateway.get_organisation().name for gateway in (tenant_a, tenant_b, tenant_a, tenant_b)]

    assert names == ["Sandbox Trading Ltd", "Northwind Goods Ltd"] * 2
    tokens = {id(g.accounting.api_client.configuration.oauth2_token) for g in (tenant_a, tenant_b)}
    assert len(tokens) == 2 and id(trap.oauth2_token) not in tokens


def test_every_write_carries_an_idempotency_key(xero, mocker):
    sent = mocker.spy(xero.accounting.api_client.rest_client, "request")
    contact = xero.create_contact(Contact(name="Keyed Ltd"))
    xero.create_item(Item(code="KEYED", name="Keyed"))
    draft = xero.create_invoice(sales_invoice("DYN-1401", contact_id=contact.contact_id))
    xero.delete_invoice(draft.invoice_id)
    authorised = xero.create_invoice(sales_invoice("DYN-1402", status="AUTHORISED"))
    xero.save_invoices([sales_invoice("DYN-1403")])
    note = xero.create_credit_note(
        CreditNote(
            type="ACCRECCREDIT",
            contact=Contact(contact_id=ACME_ID),
            date=dt.date.today(),
            status="AUTHORISED",
            line_items=[
                LineItem(
                    description="Refund",
                    quantity=Decimal("1"),
                    unit_amount=Decimal("10.00"),
                    account_code="200",
                    tax_type="OUTPUT2",
                )
            ],
        )
    )
    xero.allocate_credit_note(note.credit_note_id, authorised.invoice_id, Decimal("12.00"), dt.date.today())
    xero.void_invoice(xero.create_invoice(sales_invoice("DYN-1404", status="AUTHORISED")).invoice_id)

    writes = [call for call in sent.call_args_list if call.args[0] != "GET"]
    keys = [call.kwargs["headers"].get("Idempotency-Key") for call in writes]
    assert len(writes) == 10
    assert all(keys) and len(set(keys)) == len(keys)
    assert all(call.kwargs["_request_timeout"] for call in sent.call_args_list), "every call has a timeout"


def test_gateways_keep_one_client_per_connection(redis_conn, xero_settings):
    gateways = XeroGateways(redis_conn, xero_settings)

    assert gateways.get("conn-a", TENANT_A_ID) is gateways.get("conn-a", TENANT_A_ID.upper())
    assert gateways.get("conn-a", TENANT_A_ID) is not gateways.get("conn-b", TENANT_B_ID)
    assert gateways.limiter.limits == xero_settings.limits


def test_item_codes_are_asked_of_xero_once_per_organisation(xero, xero_admin, xero_sandbox):
    def item_reads() -> int:
        return xero_admin.calls()[TENANT_A_ID]["endpoints"].get("GET Items", 0)

    assert xero.known_item_codes(["WIDGET", "consult", "NOPE"]) == {"WIDGET", "consult"}
    assert xero.known_item_codes(["widget", "NOPE", "CONSULT"]) == {"widget", "CONSULT"}
    assert item_reads() == 1, "known and unknown codes alike are remembered"

    xero.create_item(Item(code="GADGET", name="Gadget"))
    assert xero.known_item_codes(["GADGET"]) == {"GADGET"}
    assert item_reads() == 1

    # Someone deletes the item in Xero: the next document naming it is refused, and the memory goes with it.
    tenant = xero_sandbox.state.tenants[TENANT_A_ID.lower()]
    for item_id in [i for i, item in tenant.items.items() if item["Code"] == "GADGET"]:
        del tenant.items[item_id]
    invoice = sales_invoice("DYN-0601")
    invoice.line_items[0].item_code = "GADGET"
    with pytest.raises(XeroValidationError):
        xero.create_invoice(invoice)
    assert xero.known_item_codes(["GADGET"]) == set()
    assert item_reads() == 2


def test_calls_made_for_an_invoice_go_on_its_timeline(xero):
    invoice_id = str(uuid.uuid4())
    with pytest.raises(NotFound):
        xero.get_invoice(str(uuid.uuid4()))  # outside a job about an invoice: not recorded
    with invoice_timeline.working_on(invoice_id):
        xero.find_invoice(number="DYN-0601")
        with pytest.raises(Permanent):
            xero.create_invoice(sales_invoice("DYN-0601", account_code="999"))

    calls = invoice_timeline.entries(xero.limiter.redis, invoice_id)
    assert [(c["method"], c["path"], c["status"], c["error"]) for c in calls] == [
        ("GET", "Invoices", 200, None),  # its filter (a query) is left out
        ("PUT", "Invoices", 400, "XeroValidationError"),
    ]
    assert all(isinstance(c["duration_ms"], int) and c["duration_ms"] >= 0 for c in calls)
    assert xero.limiter.redis.keys("connector:timeline:*") == [invoice_timeline.timeline_key(invoice_id).encode()]
