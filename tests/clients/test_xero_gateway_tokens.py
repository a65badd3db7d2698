"""The gateway's tokens against the sandbox's identity server: serialised refresh, reconnects, custom connections."""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from urllib.parse import parse_qs, urlparse

import pytest
import requests

from app.clients.xero import XeroGateway
from app.clients.xero_auth import XeroTokenEndpoint
from app.clients.xero_errors import RECONNECT_MESSAGE
from app.clients.xero_limits import TenantLimiter, XeroLimits
from app.clients.xero_tokens import TokenSet
from app.errors import ConnectionLost, Retryable
from sandbox.xero.seed import TENANT_A_ID, TENANT_B_ID
from sandbox.xero.settings import CUSTOM_CLIENT_ID, CUSTOM_CLIENT_SECRET
from tests.clients.xero_gateway_fixtures import *  # noqa: F403 - the pytest fixtures

SCOPES = ("offline_access", "accounting.invoices", "accounting.contacts", "accounting.settings")


def expire(token_store, connection_id: str) -> TokenSet:
    stored = token_store.load(connection_id)
    token_store.save(connection_id, replace(stored, expires_at=time.time() - 1))
    return stored


def organisation_names_at_once(gateways: list) -> tuple[list[str], list[Exception]]:
    """Every gateway asks Xero for its organisation at the same moment, each in its own thread (one per worker)."""
    start, names, failures = threading.Barrier(len(gateways)), [], []

    def work(gateway) -> None:
        start.wait()
        try:
            names.append(gateway.get_organisation().name)
        except Exception as exc:
            failures.append(exc)

    threads = [threading.Thread(target=work, args=(g,)) for g in gateways]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return names, failures


def test_an_expired_token_is_refreshed_once_and_every_concurrent_caller_succeeds(
    connect, make_gateway, token_store, xero_admin, xero_settings
):
    connect("conn-a")
    before = expire(token_store, "conn-a")
    xero_admin.advance_clock(1801)  # Xero agrees: the old access token is dead
    refreshed: list[str] = []

    class CountingEndpoint(XeroTokenEndpoint):
        def refresh(self, refresh_token: str) -> TokenSet:
            refreshed.append(refresh_token)
            time.sleep(0.1)  # a slow identity server widens the window for a second refresh
            return super().refresh(refresh_token)

    # Five workers, each with its own SDK client, sharing only Redis.
    gateways = [make_gateway("conn-a", token_endpoint=CountingEndpoint(xero_settings)) for _ in range(5)]
    names, failures = organisation_names_at_once(gateways)

    assert failures == []
    assert names == ["Sandbox Trading Ltd"] * 5
    assert refreshed == [before.refresh_token]
    after = token_store.load("conn-a")
    assert after.refresh_token != before.refresh_token and after.expires_at > time.time() + 1500


def test_invalid_grant_means_reconnect_xero(make_gateway, token_store):
    token_store.save(
        "conn-a",
        TokenSet(access_token="old", refresh_token="used-or-revoked", expires_at=time.time() - 1, scope=SCOPES),
    )

    with pytest.raises(ConnectionLost) as lost:
        make_gateway("conn-a").get_organisation()

    assert lost.value.user_message == RECONNECT_MESSAGE
    assert lost.value.user_message.startswith("Reconnect Xero")


def test_a_refresh_token_already_rotated_by_someone_else_means_reconnect(
    connect, make_gateway, token_store, xero_admin, xero_settings
):
    connect("conn-a")
    old = expire(token_store, "conn-a")
    make_gateway("conn-a").get_organisation()  # rotates the refresh token
    xero_admin.advance_clock(31 * 60)  # past Xero's grace for retrying a lost refresh answer
    # A stale, expired copy comes back (a restored backup, a second deployment).
    token_store.save("conn-a", replace(old, expires_at=time.time() - 1))

    with pytest.raises(ConnectionLost):
        make_gateway("conn-a").get_organisation()


def test_a_revoked_access_token_means_reconnect(make_gateway, token_store):
    token_store.save(
        "conn-a", TokenSet(access_token="revoked", refresh_token="r", expires_at=time.time() + 1800, scope=SCOPES)
    )
    with pytest.raises(ConnectionLost) as lost:
        make_gateway("conn-a").get_organisation()
    assert "Reconnect Xero" in lost.value.user_message


def test_a_tenant_no_longer_connected_means_reconnect(connect, make_gateway):
    connect("conn-b", TENANT_B_ID)
    with pytest.raises(ConnectionLost):
        make_gateway("conn-b", TENANT_A_ID).get_organisation()  # this consent covers tenant B only


def test_no_stored_token_means_connect_first(make_gateway):
    with pytest.raises(ConnectionLost, match="no Xero token stored"):
        make_gateway("never-connected").get_organisation()


def test_an_access_token_xero_calls_expired_forces_one_refresh_and_one_retry(
    connect, redis_conn, token_store, xero_admin, xero_settings
):
    connect("conn-a")
    before = token_store.load("conn-a")
    xero_admin.advance_clock(1801)  # our clock says fresh, Xero's says expired (clock skew)
    refreshed: list[str] = []

    class CountingEndpoint(XeroTokenEndpoint):
        def refresh(self, refresh_token: str) -> TokenSet:
            refreshed.append(refresh_token)
            time.sleep(0.1)
            return super().refresh(refresh_token)

    # Eight workers hit the 401 together: one refresh between them, each retries once and succeeds. They
    # queue for Xero's five concurrent calls instead of giving up at once.
    patient = TenantLimiter(redis_conn, XeroLimits(), max_wait_seconds=10)
    gateways = [
        XeroGateway(
            "conn-a",
            TENANT_A_ID,
            settings=xero_settings,
            tokens=token_store,
            limiter=patient,
            token_endpoint=CountingEndpoint(xero_settings),
        )
        for _ in range(8)
    ]
    names, failures = organisation_names_at_once(gateways)

    assert failures == []
    assert names == ["Sandbox Trading Ltd"] * 8
    assert refreshed == [before.refresh_token]
    assert token_store.load("conn-a").access_token != before.access_token


def test_a_token_xero_still_calls_expired_after_the_refresh_is_not_retried_again(
    connect, make_gateway, token_store, xero_admin, xero_settings, monkeypatch
):
    connect("conn-a")
    xero_admin.advance_clock(1801)
    refreshed: list[str] = []

    class StaleEndpoint(XeroTokenEndpoint):
        """An identity server that answers with a token Xero's API already thinks expired."""

        def refresh(self, refresh_token: str) -> TokenSet:
            refreshed.append(refresh_token)
            renewed = super().refresh(refresh_token)
            xero_admin.advance_clock(1801)
            return renewed

    gateway = make_gateway("conn-a", token_endpoint=StaleEndpoint(xero_settings))
    with pytest.raises(Retryable) as failed:
        gateway.get_organisation()
    assert "expired" in str(failed.value)
    assert len(refreshed) == 1, "one forced refresh per call, not one per retry of the same token"


def test_a_refresh_lock_lost_mid_refresh_keeps_the_token_another_worker_saved(connect, token_store, xero_settings):
    connect("conn-a")
    stored = expire(token_store, "conn-a")
    endpoint = XeroTokenEndpoint(xero_settings)
    winner = {}

    def slow_refresh(current: TokenSet) -> TokenSet:
        # While this refresh runs its lock is lost, and another worker renews the same token set first.
        token_store.redis.delete("connector:xero:token:lock:conn-a")
        winner["tokens"] = endpoint.refresh(current.refresh_token)
        token_store.save("conn-a", winner["tokens"])
        return endpoint.refresh(current.refresh_token)  # the spent token: Xero's grace answer, or invalid_grant

    got = token_store.fresh("conn-a", slow_refresh)

    assert got.refresh_token == winner["tokens"].refresh_token
    assert token_store.load("conn-a").refresh_token == winner["tokens"].refresh_token != stored.refresh_token


def test_the_refresh_lock_outlasts_the_longest_token_call(token_store, xero_settings):
    connect_timeout, read_timeout = xero_settings.request_timeout
    assert token_store.lock_timeout > connect_timeout + read_timeout


def test_custom_connection_fetches_and_renews_client_credentials_tokens(make_gateway, token_store, xero_settings):
    custom = replace(
        xero_settings, client_id=CUSTOM_CLIENT_ID, client_secret=CUSTOM_CLIENT_SECRET, custom_connection=True
    )
    gateway = make_gateway("custom", TENANT_A_ID, settings=custom)

    assert gateway.get_organisation().name == "Sandbox Trading Ltd"
    first = token_store.load("custom")
    assert first.refresh_token is None and first.expires_at > time.time() + 1500

    expire(token_store, "custom")  # within the margin before its 30 minutes run out
    assert gateway.get_tax_rates()
    assert token_store.load("custom").access_token != first.access_token


def test_the_sdks_own_refresh_uses_the_configured_identity_server_and_persists(xero, token_store):
    before = token_store.load("conn-a")

    xero.accounting.api_client.refresh_oauth2_token()

    after = token_store.load("conn-a")
    assert after.refresh_token != before.refresh_token
    assert xero.get_organisation().short_code == "!SbxA1"


def test_connecting_xero_with_the_consent_code(xero_settings, token_store, make_gateway):
    endpoint = XeroTokenEndpoint(xero_settings)
    redirect_uri = "http://127.0.0.1:1/xero/callback"
    consent = endpoint.authorization_url(redirect_uri, state="s-1")
    assert "scope=offline_access+accounting.invoices" in consent

    # The sandbox approves on the admin's behalf and redirects back with the code.
    answer = requests.get(f"{consent}&auto_approve={TENANT_B_ID}", allow_redirects=False, timeout=10)
    query = parse_qs(urlparse(answer.headers["Location"]).query)
    assert query["state"] == ["s-1"]
    tokens = endpoint.exchange_code(query["code"][0], redirect_uri)

    assert [t["tenantId"] for t in endpoint.tenants(tokens)] == [TENANT_B_ID]
    token_store.save("conn-b", tokens)
    assert make_gateway("conn-b", TENANT_B_ID).get_organisation().name == "Northwind Goods Ltd"
    with pytest.raises(ConnectionLost):
        endpoint.exchange_code(query["code"][0], redirect_uri)  # codes are single use
