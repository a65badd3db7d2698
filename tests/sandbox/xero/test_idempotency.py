"""Idempotency-Key on writes: replay within the window, refuse a different body, forget after the window."""

from __future__ import annotations

import pytest
from xero_python.accounting import Invoices
from xero_python.exceptions import AccountingBadRequestException

from sandbox.xero.admin_client import SandboxAdmin
from sandbox.xero.sdk import SdkClient
from tests.sandbox.xero.builders import invoice, line


def _create(client: SdkClient, key: str, amount: float = 100) -> str:
    doc = invoice([line(unit_amount=amount)])
    result = client.accounting.create_invoices(client.tenant_id, Invoices(invoices=[doc]), idempotency_key=key)
    return str(result.invoices[0].invoice_id)


def _count(client: SdkClient) -> int:
    return len(client.accounting.get_invoices(client.tenant_id).invoices)


def test_same_key_and_body_replays_the_first_answer(xero_client: SdkClient) -> None:
    first = _create(xero_client, "create-inv-1")
    assert _create(xero_client, "create-inv-1") == first
    assert _count(xero_client) == 1


def test_same_key_with_another_body_is_refused(xero_client: SdkClient) -> None:
    _create(xero_client, "create-inv-2")
    with pytest.raises(AccountingBadRequestException) as error:
        _create(xero_client, "create-inv-2", amount=101)
    assert "Idempotency-Key" in error.value.reason
    assert _count(xero_client) == 1


def test_keys_expire_after_six_minutes(xero_client: SdkClient, xero_admin: SandboxAdmin) -> None:
    first = _create(xero_client, "create-inv-3")
    xero_admin.advance_clock(6 * 60 + 1)
    xero_client.token["expires_at"] = 0  # the clock jump also expired the access token: refresh first
    assert _create(xero_client, "create-inv-3") != first
    assert _count(xero_client) == 2


def test_keys_are_per_tenant_and_failed_validation_is_replayed_too(xero_client: SdkClient) -> None:
    bad = invoice([line(account_code="999")])
    for _ in range(2):
        with pytest.raises(AccountingBadRequestException):
            xero_client.accounting.create_invoices(
                xero_client.tenant_id, Invoices(invoices=[bad]), idempotency_key="bad-1"
            )
    assert _count(xero_client) == 0
