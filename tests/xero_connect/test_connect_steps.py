"""The single-use tokens between the steps, and the scopes asked for."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from cryptography.fernet import Fernet

from app.clients.xero_tokens import TokenSet, token_cipher
from app.xero_connect_flow import KEY_PREFIX, STEP_TTL_SECONDS, ConnectSteps, Expired, Tenant
from sandbox.xero.seed import TENANT_A_ID
from tests.xero_connect.conftest import ADMIN, consent

TOKENS = TokenSet(
    access_token="access-secret-value",
    refresh_token="refresh-secret-value",
    expires_at=2e9,
    scope=("offline_access", "accounting.settings"),
)


@pytest.fixture
def steps(redis_conn) -> ConnectSteps:
    return ConnectSteps(redis_conn, token_cipher([Fernet.generate_key().decode()]))


def test_a_state_is_random_expires_in_ten_minutes_and_works_once(steps, redis_conn):
    state = steps.new_state("http://localhost/xero/callback")
    assert state != steps.new_state("http://localhost/xero/callback")
    assert 0 < redis_conn.ttl(f"{KEY_PREFIX}:state:{state}") <= STEP_TTL_SECONDS == 600

    assert steps.take_state(state) == "http://localhost/xero/callback"
    with pytest.raises(Expired):
        steps.take_state(state)
    with pytest.raises(Expired):
        steps.take_state(None)


def test_a_parked_token_set_is_encrypted_and_works_once(steps, redis_conn):
    offered = [Tenant("a-tenant", "Sandbox Trading Ltd"), Tenant("b-tenant", "Northwind Goods Ltd")]
    choice = steps.park_choice(TOKENS, offered)
    raw = redis_conn.get(f"{KEY_PREFIX}:choice:{choice}")
    assert b"secret-value" not in raw and b"Northwind" not in raw
    assert 0 < redis_conn.ttl(f"{KEY_PREFIX}:choice:{choice}") <= STEP_TTL_SECONDS

    assert steps.take_choice(choice) == (TOKENS, offered)
    with pytest.raises(Expired):
        steps.take_choice(choice)


def test_a_choice_sealed_with_a_key_no_longer_configured_is_expired(steps, redis_conn):
    choice = steps.park_choice(TOKENS, [Tenant("a-tenant", "A")])
    other = ConnectSteps(redis_conn, token_cipher([Fernet.generate_key().decode()]))
    with pytest.raises(Expired):
        other.take_choice(choice)


@pytest.mark.parametrize(
    ("scopes", "expected"),
    [
        (
            "granular",
            "offline_access accounting.invoices accounting.payments.read accounting.contacts accounting.settings",
        ),
        ("broad", "offline_access accounting.transactions accounting.contacts accounting.settings"),
    ],
)
def test_granular_scopes_by_default_broad_as_an_option(make_connector, scopes, expected):
    connector = make_connector(XERO_SCOPES=scopes)
    start = connector.client.get("/xero/connect", headers=ADMIN)
    assert parse_qs(urlsplit(start.headers["Location"]).query)["scope"] == [expected]
    path, params = consent(connector.client, TENANT_A_ID)
    assert params["scope"] == expected
    assert connector.client.get(path, query_string=params).status_code == 200, "either set can connect"
