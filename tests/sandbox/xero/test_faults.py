"""Fault injection: 5xx before any effect, latency, and commit-then-drop (the write happened, the caller saw none)."""

from __future__ import annotations

import pytest
import urllib3
from xero_python.accounting import Invoices
from xero_python.exceptions import HTTPStatusException

from sandbox.xero.admin_client import SandboxAdmin
from sandbox.xero.sdk import SdkClient
from tests.sandbox.xero.builders import invoice


def _invoices(admin: SandboxAdmin, client: SdkClient) -> list[dict[str, object]]:
    return admin.state(client.tenant_id)["Invoices"]  # type: ignore[no-any-return]


def test_fail_next_answers_5xx_and_changes_nothing(xero_client: SdkClient, xero_admin: SandboxAdmin) -> None:
    xero_admin.set_faults(fail_next=1, error_status=503)
    with pytest.raises(HTTPStatusException) as error:
        xero_client.accounting.create_invoices(xero_client.tenant_id, Invoices(invoices=[invoice()]))
    assert error.value.status == 503
    assert _invoices(xero_admin, xero_client) == []
    xero_client.accounting.create_invoices(xero_client.tenant_id, Invoices(invoices=[invoice()]))
    assert len(_invoices(xero_admin, xero_client)) == 1


def test_error_rate_one_fails_everything_until_switched_off(xero_client: SdkClient, xero_admin: SandboxAdmin) -> None:
    xero_admin.set_faults(error_rate=1.0, error_status=500)
    for _ in range(3):
        with pytest.raises(HTTPStatusException) as error:
            xero_client.accounting.get_organisations(xero_client.tenant_id)
        assert error.value.status == 500
    xero_admin.set_faults(error_rate=0.0)
    assert xero_client.accounting.get_organisations(xero_client.tenant_id).organisations


def test_latency_beyond_the_callers_timeout(xero_client: SdkClient, xero_admin: SandboxAdmin) -> None:
    xero_admin.set_faults(latency_ms=500)
    with pytest.raises(urllib3.exceptions.HTTPError):
        xero_client.accounting.get_organisations(xero_client.tenant_id, _request_timeout=(2, 0.1))


def test_drop_after_commit_on_post(xero_client: SdkClient, xero_admin: SandboxAdmin) -> None:
    xero_admin.set_faults(drop_next=1)
    with pytest.raises(urllib3.exceptions.HTTPError):
        xero_client.accounting.update_or_create_invoices(
            xero_client.tenant_id, Invoices(invoices=[invoice(reference="lost answer")])
        )
    stored = _invoices(xero_admin, xero_client)
    assert [i["Reference"] for i in stored] == ["lost answer"]


def test_drop_then_retry_with_the_same_key_replays(xero_client: SdkClient, xero_admin: SandboxAdmin) -> None:
    xero_admin.set_faults(drop_next=1)
    body = Invoices(invoices=[invoice(reference="once")])
    with pytest.raises(urllib3.exceptions.HTTPError):
        xero_client.accounting.create_invoices(xero_client.tenant_id, body, idempotency_key="drop-1")
    retried = xero_client.accounting.create_invoices(xero_client.tenant_id, body, idempotency_key="drop-1")
    stored = _invoices(xero_admin, xero_client)
    assert [i["InvoiceID"] for i in stored] == [retried.invoices[0].invoice_id]


def test_drop_with_the_sdks_default_urllib3_retries_duplicates_a_put(
    xero_sandbox: object, xero_admin: SandboxAdmin, xero_client: SdkClient
) -> None:
    """urllib3 re-sends a PUT after a dropped connection: without an idempotency key, Xero gets two."""
    xero_client.api_client.rest_client.pool_manager.clear()
    xero_client.api_client.rest_client.pool_manager.connection_pool_kw.pop("retries", None)
    xero_admin.set_faults(drop_next=1)
    result = xero_client.accounting.create_invoices(xero_client.tenant_id, Invoices(invoices=[invoice()]))
    assert len(result.invoices) == 1
    assert len(_invoices(xero_admin, xero_client)) == 2
