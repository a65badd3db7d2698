"""The built documents, sent through the real xero-python SDK to the sandbox Xero: Xero accepts them, the
amounts match Dynamics to the cent, updates keep line identities, paid invoices take the restricted update,
and cancellations delete, credit and allocate as the rules say."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

from xero_python.accounting import Account, CreditNotes, Invoices, Items, Payment
from xero_python.accounting import Invoice as XeroInvoice

from app.dynamics_schema import DefaultInvoiceStatus, InvoiceType
from mappers.cancellation import (
    CancellationAction,
    build_allocation,
    build_credit_note,
    decide_cancellation,
    status_change,
)
from mappers.dynamics import ConnectionSettings, Invoice
from mappers.line_pricing import UNIT_DECIMAL_PLACES
from mappers.totals import line_taxes_after
from mappers.writeback import line_value_patches
from mappers.xero_invoice import SendDocument, build_document, idempotency_key, items_to_create
from sandbox.xero.sdk import SdkClient
from sandbox.xero.seed import TENANT_A_ID, seeded_id
from tests.mappers.helpers import ORG_URL, connection, invoice, line_row

ACME = seeded_id(TENANT_A_ID, "contact", "Acme Corporation")
STANDARD_THEME = seeded_id(TENANT_A_ID, "theme", "Standard")
TODAY = date(2026, 11, 25)


def setting(**changes) -> ConnectionSettings:
    return connection(create_items=True, **changes)


def dynamics_invoice(**changes) -> Invoice:
    return invoice(branding_theme_xero_id=STANDARD_THEME, **changes)


def send(client: SdkClient, inv: Invoice, conn: ConnectionSettings, existing=None):
    known = {item.code for item in client.accounting.get_items(client.tenant_id).items}
    new_items = items_to_create(inv, conn, known)
    if new_items:
        client.accounting.create_items(client.tenant_id, Items(items=new_items))
        known |= {item.code for item in new_items}
    plan = build_document(
        inv,
        conn,
        contact_id=ACME,
        org_url=ORG_URL,
        known_item_codes=known,
        account_tax_types={"200": "OUTPUT2", "300": "INPUT2"},
        existing=existing,
    )
    assert isinstance(plan, SendDocument)
    body = Invoices(invoices=[plan.document])
    key = idempotency_key(plan.document)
    if existing is None:
        answer = client.accounting.create_invoices(
            client.tenant_id, body, unitdp=UNIT_DECIMAL_PLACES, idempotency_key=key
        )
    else:
        answer = client.accounting.update_invoice(
            client.tenant_id, existing.invoice_id, body, unitdp=UNIT_DECIMAL_PLACES, idempotency_key=key
        )
    return plan, answer.invoices[0]


def fetch(client: SdkClient, invoice_id) -> XeroInvoice:
    return client.accounting.get_invoice(client.tenant_id, invoice_id, unitdp=UNIT_DECIMAL_PLACES).invoices[0]


def test_created_invoice_matches_dynamics_to_the_cent(xero_client):
    plan, saved = send(xero_client, dynamics_invoice(), setting())
    assert saved.status == "AUTHORISED" and saved.invoice_number == "INV-01001-K7Q2ZP"
    assert saved.reference == "November consulting"
    # 4 x 12.50 + (2 x 40.00 less 8.00) + 1.5 x 95.00 + the bundle at 100.00; 20 % VAT on each
    assert Decimal(str(saved.sub_total)) == Decimal("364.50")
    assert Decimal(str(saved.total_tax)) == Decimal("72.90")
    assert [line.item_code for line in saved.line_items] == ["WIDGET-001", "GADGET", None, None, "KIT-100"]
    gadget = saved.line_items[1]
    assert [(t.name, t.option) for t in gadget.tracking] == [("Region", "North"), ("Department", "Sales")]
    patches = line_value_patches(dynamics_invoice(), line_taxes_after(dynamics_invoice(), plan, saved))
    assert {patch.row_id[-3:]: patch.body["tax"] for patch in patches} == {"001": 10.0, "003": 28.5, "005": 20.0}


def test_bill_with_a_discount_matches_dynamics_to_the_cent(xero_client):
    rows = [{**line_row("001"), "manualdiscountamount": 1, "quantity": 3, "priceperunit": 10}]
    bill = dynamics_invoice(lines=[], invoice_type=InvoiceType.PURCHASE_INVOICE)
    bill = replace(bill, lines=invoice(lines=rows).lines)
    _, saved = send(xero_client, bill, setting())
    assert saved.type == "ACCPAY"
    assert Decimal(str(saved.sub_total)) == Decimal("29.00")


def test_unpaid_update_keeps_every_line_identity(xero_client):
    _, first = send(xero_client, dynamics_invoice(), setting())
    edited = [{**line_row("001"), "quantity": 5}, *[line_row(s) for s in ("002", "003", "004", "005")]]
    _, second = send(
        xero_client, dynamics_invoice(lines=edited), setting(), existing=fetch(xero_client, first.invoice_id)
    )
    assert [line.line_item_id for line in second.line_items] == [line.line_item_id for line in first.line_items]
    assert Decimal(str(second.sub_total)) == Decimal("377.00")


def test_part_paid_invoice_takes_the_restricted_update(xero_client, xero_sdk):
    _, first = send(xero_client, dynamics_invoice(), setting())
    # A customer pays 100.00 in Xero (a finance user's own app, allowed to write payments).
    cashier = xero_sdk(scopes=["offline_access", "accounting.transactions", "accounting.settings"])
    cashier.accounting.create_payment(
        cashier.tenant_id,
        Payment(
            invoice=XeroInvoice(invoice_id=first.invoice_id),
            account=Account(code="090"),
            amount=Decimal("100"),
            date=TODAY,
        ),
    )
    edited = [
        {**line_row("001"), "quantity": 9, "description": "Spare"},
        *[line_row(s) for s in ("002", "003", "004", "005")],
    ]
    plan, second = send(
        xero_client,
        dynamics_invoice(lines=edited, name="Renamed"),
        setting(),
        existing=fetch(xero_client, first.invoice_id),
    )
    assert plan.restricted and plan.notes
    assert second.reference == "Renamed"
    assert second.line_items[0].description == "Widget\nSpare"
    assert Decimal(str(second.line_items[0].quantity)) == Decimal("4")
    assert Decimal(str(second.amount_paid)) == Decimal("100")


def test_cancelled_draft_is_deleted(xero_client):
    _, saved = send(xero_client, dynamics_invoice(), setting(default_invoice_status=DefaultInvoiceStatus.DRAFT))
    decision = decide_cancellation(fetch(xero_client, saved.invoice_id), create_credit_note=True)
    assert decision.action is CancellationAction.DELETE
    body = Invoices(invoices=[status_change(saved, decision.action)])
    xero_client.accounting.update_invoice(xero_client.tenant_id, saved.invoice_id, body)
    assert fetch(xero_client, saved.invoice_id).status == "DELETED"


def test_cancelled_approved_invoice_is_credited_in_full_and_allocated(xero_client):
    _, saved = send(xero_client, dynamics_invoice(), setting())
    current = fetch(xero_client, saved.invoice_id)
    decision = decide_cancellation(current, create_credit_note=True)
    assert decision.action is CancellationAction.CREDIT_AND_ALLOCATE
    credit = build_credit_note(current, on=TODAY)
    created = xero_client.accounting.create_credit_notes(
        xero_client.tenant_id,
        CreditNotes(credit_notes=[credit]),
        unitdp=UNIT_DECIMAL_PLACES,
        idempotency_key=idempotency_key(credit),
    ).credit_notes[0]
    assert Decimal(str(created.total)) == Decimal(str(current.total))
    xero_client.accounting.create_credit_note_allocation(
        xero_client.tenant_id, created.credit_note_id, build_allocation(current, on=TODAY)
    )
    after = fetch(xero_client, saved.invoice_id)
    assert Decimal(str(after.amount_due)) == 0 and Decimal(str(after.amount_credited)) == Decimal(str(after.total))
