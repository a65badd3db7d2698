"""The gateway under Xero's faults, injected by the sandbox: limits, 5xx, lost answers, timeouts."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest

from app.clients.xero import OutcomeUnknown, XeroGateway
from app.clients.xero_limits import TenantLimiter, XeroLimits
from app.embedded_redis import free_port
from app.errors import Deferred, Retryable
from sandbox.xero.seed import TENANT_A_ID, TENANT_B_ID
from tests.clients.xero_gateway_fixtures import *  # noqa: F403 - the pytest fixtures
from tests.clients.xero_gateway_fixtures import invoices_in_xero, sales_invoice


def test_a_429_pauses_only_that_tenant(connect, xero_admin):
    tenant_a, tenant_b = connect("conn-a"), connect("conn-b", TENANT_B_ID)
    xero_admin.set_faults(rate_limit_next=1)

    with pytest.raises(Retryable) as limited:
        tenant_a.get_organisation()
    assert not isinstance(limited.value, Deferred | OutcomeUnknown)
    assert limited.value.retry_after == 1.0  # the sandbox's Retry-After

    # Xero would answer now (the fault is used up), but the tenant is paused for every worker until Retry-After.
    with pytest.raises(Retryable, match="paused"):
        tenant_a.get_organisation()
    assert tenant_b.get_organisation().name == "Northwind Goods Ltd"


def test_the_daily_limit_defers_until_the_reset(xero, xero_admin):
    xero_admin.set_limits(per_day=1)
    xero.get_organisation()  # its answer says X-DayLimit-Remaining: 0

    with pytest.raises(Deferred) as deferred:
        xero.get_tax_rates()

    wait = (deferred.value.run_at - dt.datetime.now(dt.UTC)).total_seconds()
    assert 23 * 3600 < wait <= 24 * 3600
    assert "daily limit" in deferred.value.user_message
    # Xero's own figure stopped the call before it was sent: nothing was refused by Xero.
    assert xero_admin.calls()[TENANT_A_ID]["rejected"] == 0


def test_a_daily_429_defers_and_pauses_the_tenant(xero, xero_admin):
    xero.get_organisation()
    xero_admin.set_limits(per_day=1)  # Xero's day is spent before its answers could say so

    with pytest.raises(Deferred) as deferred:
        xero.get_tax_rates()

    assert "daily limit" in deferred.value.user_message
    with pytest.raises((Retryable, Deferred)):  # no worker spends calls Xero will refuse
        xero.get_accounts()
    assert xero_admin.calls()[TENANT_A_ID]["rejected"] == 1


def test_a_500_on_a_read_is_retryable_and_the_next_call_succeeds(xero, xero_admin):
    xero_admin.set_faults(fail_next=1, error_status=500)

    with pytest.raises(Retryable) as failed:
        xero.get_organisation()

    assert not isinstance(failed.value, OutcomeUnknown)
    assert xero.get_organisation().short_code == "!SbxA1"


def test_a_500_on_a_write_leaves_the_outcome_unknown(xero, xero_admin):
    xero_admin.set_faults(fail_next=1, error_status=500)
    with pytest.raises(OutcomeUnknown):
        xero.create_invoice(sales_invoice("DYN-1001"))


def test_a_503_on_a_write_is_plainly_retryable(xero, xero_admin):
    xero_admin.set_faults(fail_next=1, error_status=503)
    with pytest.raises(Retryable) as failed:
        xero.create_invoice(sales_invoice("DYN-1002"))
    assert not isinstance(failed.value, OutcomeUnknown)


def test_an_answer_dropped_after_commit_is_found_by_number_and_not_duplicated(xero, xero_admin):
    invoice = sales_invoice("DYN-1101")
    xero_admin.set_faults(drop_next=1)

    with pytest.raises(OutcomeUnknown) as lost:
        xero.create_invoice(invoice, idempotency_key="dyn-1101-v1")
    assert "checking whether it was done" in lost.value.user_message

    found = xero.find_invoice(number="DYN-1101")
    assert found is not None and found.status == "DRAFT"
    # Retrying with the same key within Xero's window replays the first answer instead of creating again.
    assert xero.create_invoice(invoice, idempotency_key="dyn-1101-v1").invoice_id == found.invoice_id
    assert [i["InvoiceNumber"] for i in invoices_in_xero(xero_admin)].count("DYN-1101") == 1


def test_a_lost_answer_with_xero_numbering_is_found_by_reference(xero, xero_admin):
    started = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=5)
    xero_admin.set_faults(drop_next=1)
    with pytest.raises(OutcomeUnknown):
        xero.create_invoice(sales_invoice(reference="Dynamics INV-77"))

    found = xero.find_invoice(reference="Dynamics INV-77", modified_since=started)

    assert found is not None and found.invoice_number.startswith("INV-")


def test_a_slow_answer_times_out(connect, make_gateway, xero_settings, xero_admin):
    connect("conn-a")
    impatient = make_gateway("conn-a", settings=replace(xero_settings, request_timeout_seconds=0.3))
    xero_admin.set_faults(latency_ms=800)

    with pytest.raises(Retryable) as read:
        impatient.get_organisation()
    assert not isinstance(read.value, OutcomeUnknown)
    with pytest.raises(OutcomeUnknown):
        impatient.create_invoice(sales_invoice("DYN-1201"))


def test_an_unreachable_xero_is_retryable_even_for_a_write(connect, make_gateway, xero_settings):
    connect("conn-a")
    nowhere = replace(xero_settings, api_url=f"http://127.0.0.1:{free_port()}")
    gateway = make_gateway("conn-a", settings=nowhere)

    with pytest.raises(Retryable) as unreachable:
        gateway.create_invoice(sales_invoice("DYN-1301"))
    assert not isinstance(unreachable.value, OutcomeUnknown), "nothing was sent, so nothing can have happened"


def test_every_call_counts_against_the_tenants_shared_minute(
    connect, redis_conn, token_store, xero_settings, xero_admin
):
    connect("conn-a")
    strict = TenantLimiter(redis_conn, XeroLimits(per_minute=2), max_wait_seconds=0.05)
    worker_1, worker_2 = (
        XeroGateway("conn-a", TENANT_A_ID, settings=xero_settings, tokens=token_store, limiter=strict) for _ in range(2)
    )
    worker_1.get_organisation()
    worker_2.create_invoice(sales_invoice("DYN-1501"))

    with pytest.raises(Retryable, match="minute limit"):
        worker_1.get_tax_rates()
    assert xero_admin.calls()[TENANT_A_ID]["calls"] == 2, "the third call never left the connector"
