"""Xero's per-tenant limits: headers on every answer, 429 with Retry-After and the problem named."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from xero_python.exceptions import RateLimitException

from sandbox.xero import RunningSandbox, Settings
from sandbox.xero.admin_client import SandboxAdmin
from sandbox.xero.sdk import SdkClient
from sandbox.xero.seed import TENANT_B_ID
from tests.plugins.sandbox_xero import admin_for, sdk_for


def _headers(client: SdkClient) -> dict[str, str]:
    _data, _status, headers = client.accounting.get_organisations(client.tenant_id, _return_http_data_only=False)
    return dict(headers)


def test_every_answer_carries_the_remaining_counts(xero_client: SdkClient) -> None:
    first, second = _headers(xero_client), _headers(xero_client)
    assert (first["X-DayLimit-Remaining"], first["X-MinLimit-Remaining"]) == ("4999", "59")
    assert (second["X-DayLimit-Remaining"], second["X-MinLimit-Remaining"]) == ("4998", "58")
    assert int(second["X-AppMinLimit-Remaining"]) == 9998


def test_minute_limit_gives_429_with_retry_after_until_the_window_rolls(
    xero_client: SdkClient, xero_admin: SandboxAdmin, xero_sdk: Callable[..., SdkClient]
) -> None:
    xero_admin.set_limits(per_minute=3)
    for _ in range(3):
        xero_client.accounting.get_organisations(xero_client.tenant_id)
    with pytest.raises(RateLimitException) as error:
        xero_client.accounting.get_organisations(xero_client.tenant_id)
    assert error.value.rate_limit == "minute"
    assert 1 <= int(error.value.headers["Retry-After"]) <= 60
    assert error.value.headers["X-MinLimit-Remaining"] == "0"
    # Another tenant has its own window.
    xero_sdk(TENANT_B_ID).accounting.get_organisations(TENANT_B_ID)
    xero_admin.advance_clock(61)
    xero_client.accounting.get_organisations(xero_client.tenant_id)
    assert xero_admin.calls()[xero_client.tenant_id]["rejected"] == 1


def test_day_limit(xero_client: SdkClient, xero_admin: SandboxAdmin) -> None:
    xero_admin.set_limits(per_day=2)
    xero_client.accounting.get_organisations(xero_client.tenant_id)
    xero_client.accounting.get_organisations(xero_client.tenant_id)
    with pytest.raises(RateLimitException) as error:
        xero_client.accounting.get_organisations(xero_client.tenant_id)
    assert error.value.rate_limit == "day"
    assert int(error.value.headers["Retry-After"]) > 60


def test_concurrent_limit(xero_client: SdkClient, xero_admin: SandboxAdmin, xero_sdk: Callable[..., SdkClient]) -> None:
    xero_admin.set_limits(concurrent=1)
    xero_admin.set_faults(latency_ms=400)
    slow_started = threading.Event()
    outcome: list[str] = []

    def slow_call() -> None:
        slow_started.set()
        xero_client.accounting.get_organisations(xero_client.tenant_id)
        outcome.append("slow done")

    thread = threading.Thread(target=slow_call)
    thread.start()
    slow_started.wait()
    other = xero_sdk()
    # Poll until the slow call holds the only slot, then a second call must be refused as concurrent.
    problems = []
    for _ in range(50):
        try:
            other.accounting.get_organisations(other.tenant_id)
        except RateLimitException as error:
            problems.append(error.rate_limit)
            break
    thread.join()
    assert problems == ["concurrent"]
    assert outcome == ["slow done"]


def test_injected_429_burst(xero_client: SdkClient, xero_admin: SandboxAdmin) -> None:
    xero_admin.set_faults(rate_limit_next=2)
    for _ in range(2):
        with pytest.raises(RateLimitException) as error:
            xero_client.accounting.get_organisations(xero_client.tenant_id)
        assert error.value.headers["Retry-After"] == "1"
    xero_client.accounting.get_organisations(xero_client.tenant_id)


def test_time_scale_shrinks_the_minute(xero_sandbox_factory: Callable[..., RunningSandbox]) -> None:
    sandbox = xero_sandbox_factory(Settings(time_scale=0.1))
    admin = admin_for(sandbox)
    admin.set_limits(per_minute=1)
    client = sdk_for(sandbox)
    client.accounting.get_organisations(client.tenant_id)
    with pytest.raises(RateLimitException) as error:
        client.accounting.get_organisations(client.tenant_id)
    assert int(error.value.headers["Retry-After"]) <= 6  # a "minute" is 6 seconds at scale 0.1
    assert client.token["expires_in"] == 180  # so is a 30-minute access token 3 minutes
    admin.close()
