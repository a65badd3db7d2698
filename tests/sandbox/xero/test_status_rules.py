"""Xero's status transitions and the lock on documents that money has touched."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from xero_python.accounting import Account, Invoice, Invoices, LineAmountTypes, Payment, Payments
from xero_python.exceptions import AccountingBadRequestException

from sandbox.xero.sdk import SdkClient
from tests.sandbox.xero.builders import FINANCE_SCOPES, invoice, line

LOCKED = "This document cannot be edited as it has a payment or credit note allocated to it."


@pytest.fixture
def xero_client(xero_sdk: Callable[..., SdkClient]) -> SdkClient:
    return xero_sdk(scopes=FINANCE_SCOPES)


def _create(client: SdkClient, doc: Invoice) -> Invoice:
    return client.accounting.create_invoices(client.tenant_id, Invoices(invoices=[doc])).invoices[0]


def _update(client: SdkClient, invoice_id: str, **fields: object) -> Invoice:
    change = Invoice(invoice_id=invoice_id, **fields)
    return client.accounting.update_invoice(client.tenant_id, invoice_id, Invoices(invoices=[change])).invoices[0]


def _pay(client: SdkClient, doc: Invoice, amount: float) -> None:
    payment = Payment(invoice=Invoice(invoice_id=doc.invoice_id), account=Account(code="090"), amount=amount)
    client.accounting.create_payments(client.tenant_id, Payments(payments=[payment]))


@pytest.mark.parametrize("start", ["DRAFT", "SUBMITTED"])
def test_draft_and_submitted_can_be_deleted(xero_client: SdkClient, start: str) -> None:
    created = _create(xero_client, invoice(status=start))
    assert _update(xero_client, created.invoice_id, status="DELETED").status == "DELETED"


def test_authorised_cannot_be_deleted_but_can_be_voided(xero_client: SdkClient) -> None:
    created = _create(xero_client, invoice())
    with pytest.raises(AccountingBadRequestException) as error:
        _update(xero_client, created.invoice_id, status="DELETED")
    assert error.value.reason == "Invoice not of valid status for modification"
    assert _update(xero_client, created.invoice_id, status="VOIDED").status == "VOIDED"


def test_voided_invoice_cannot_change_again(xero_client: SdkClient) -> None:
    created = _create(xero_client, invoice())
    _update(xero_client, created.invoice_id, status="VOIDED")
    with pytest.raises(AccountingBadRequestException) as error:
        _update(xero_client, created.invoice_id, reference="too late")
    assert error.value.reason == "Invoice not of valid status for modification"


def test_paid_status_cannot_be_set_by_a_caller(xero_client: SdkClient) -> None:
    created = _create(xero_client, invoice())
    with pytest.raises(AccountingBadRequestException):
        _update(xero_client, created.invoice_id, status="PAID")


def test_invoice_with_a_payment_cannot_be_voided_or_repriced(xero_client: SdkClient) -> None:
    created = _create(xero_client, invoice([line(unit_amount=100)]))
    _pay(xero_client, created, 50)
    with pytest.raises(AccountingBadRequestException) as error:
        _update(xero_client, created.invoice_id, status="VOIDED")
    assert error.value.reason == LOCKED
    fetched = xero_client.accounting.get_invoice(xero_client.tenant_id, created.invoice_id).invoices[0]
    fetched.line_items[0].unit_amount = 90
    fetched.line_items[0].line_amount = None
    with pytest.raises(AccountingBadRequestException) as error:
        xero_client.accounting.update_invoice(xero_client.tenant_id, created.invoice_id, Invoices(invoices=[fetched]))
    assert error.value.reason == LOCKED


def test_paid_invoice_accepts_only_the_allowed_fields(xero_client: SdkClient) -> None:
    created = _create(xero_client, invoice([line(unit_amount=100)]))
    _pay(xero_client, created, 120)
    assert _update(xero_client, created.invoice_id, reference="PO-9", url="https://example.test/po9").status == "PAID"
    fetched = xero_client.accounting.get_invoice(xero_client.tenant_id, created.invoice_id).invoices[0]
    fetched.line_items[0].description = "New wording"
    fetched.line_items[0].account_code = "260"
    (updated,) = xero_client.accounting.update_invoice(
        xero_client.tenant_id, created.invoice_id, Invoices(invoices=[fetched])
    ).invoices
    assert updated.line_items[0].description == "New wording" and updated.line_items[0].account_code == "260"
    assert updated.reference == "PO-9" and updated.status == "PAID"
    with pytest.raises(AccountingBadRequestException) as error:
        _update(xero_client, created.invoice_id, line_amount_types=LineAmountTypes.INCLUSIVE)
    assert error.value.reason == LOCKED
