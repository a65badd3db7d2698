"""Identity: authorize without a browser, code exchange, rotating refresh tokens with grace, scopes, tenants."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
import requests
from xero_python.exceptions import HTTPStatusException

from sandbox.xero import RunningSandbox
from sandbox.xero.admin_client import SandboxAdmin
from sandbox.xero.sdk import SdkClient, connect
from sandbox.xero.seed import TENANT_A_ID, TENANT_B_ID

REDIRECT = "http://127.0.0.1:9/callback"
SCOPES = "openid offline_access accounting.invoices accounting.contacts accounting.settings"


def _authorize(sandbox: RunningSandbox, **params: str) -> requests.Response:
    query = {
        "response_type": "code",
        "client_id": sandbox.settings.client_id,
        "redirect_uri": REDIRECT,
        "scope": SCOPES,
        "state": "xyz",
        **params,
    }
    return requests.get(f"{sandbox.url}/identity/connect/authorize", params=query, allow_redirects=False, timeout=10)


def _token(sandbox: RunningSandbox, **form: str) -> requests.Response:
    return requests.post(
        f"{sandbox.url}/connect/token",
        timeout=10,
        data={"client_id": sandbox.settings.client_id, "client_secret": sandbox.settings.client_secret, **form},
    )


def _code_from(response: requests.Response) -> dict[str, list[str]]:
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location.startswith(REDIRECT)
    return parse_qs(urlparse(location).query)


def _sdk(sandbox: RunningSandbox, token: dict[str, Any], tenant_id: str = TENANT_A_ID) -> SdkClient:
    return connect(sandbox.url, token, tenant_id, sandbox.settings.client_id, sandbox.settings.client_secret)


def test_authorize_code_exchange_and_connections(xero_sandbox: RunningSandbox) -> None:
    query = _code_from(_authorize(xero_sandbox, auto_approve=TENANT_B_ID))
    assert query["state"] == ["xyz"]
    exchanged = _token(xero_sandbox, grant_type="authorization_code", code=query["code"][0], redirect_uri=REDIRECT)
    assert exchanged.status_code == 200
    token = exchanged.json()
    assert token["token_type"] == "Bearer" and token["expires_in"] == 1800 and token["refresh_token"]
    client = _sdk(xero_sandbox, token, TENANT_B_ID)
    connections = client.identity.get_connections()
    assert [(c.tenant_id, c.tenant_type, c.tenant_name) for c in connections] == [
        (TENANT_B_ID, "ORGANISATION", "Northwind Goods Ltd")
    ]
    assert connections[0].created_date_utc.year >= 2025
    org = client.accounting.get_organisations(TENANT_B_ID).organisations[0]
    assert org.short_code == "!SbxB2"
    reused = _token(xero_sandbox, grant_type="authorization_code", code=query["code"][0], redirect_uri=REDIRECT)
    assert (reused.status_code, reused.json()) == (400, {"error": "invalid_grant"})


def test_code_bound_to_its_redirect_uri(xero_sandbox: RunningSandbox) -> None:
    code = _code_from(_authorize(xero_sandbox, auto_approve="all"))["code"][0]
    wrong = _token(xero_sandbox, grant_type="authorization_code", code=code, redirect_uri=REDIRECT + "x")
    assert wrong.json() == {"error": "invalid_grant"}


def test_consent_page_form_and_bad_requests(xero_sandbox: RunningSandbox) -> None:
    page = _authorize(xero_sandbox)
    assert page.status_code == 200 and "Sandbox Trading Ltd" in page.text and "Northwind Goods Ltd" in page.text
    form = {
        "response_type": "code",
        "client_id": xero_sandbox.settings.client_id,
        "redirect_uri": REDIRECT,
        "scope": SCOPES,
        "state": "s1",
        "tenant": TENANT_A_ID,
        "decision": "allow",
    }
    posted = requests.post(
        f"{xero_sandbox.url}/identity/connect/authorize", data=form, allow_redirects=False, timeout=10
    )
    assert "code" in _code_from(posted)
    denied = requests.post(
        f"{xero_sandbox.url}/identity/connect/authorize",
        data={**form, "decision": "deny"},
        allow_redirects=False,
        timeout=10,
    )
    assert _code_from(denied)["error"] == ["access_denied"]
    assert _code_from(_authorize(xero_sandbox, scope="accounting.everything"))["error"] == ["invalid_scope"]
    assert _authorize(xero_sandbox, client_id="nobody").status_code == 400
    assert _authorize(xero_sandbox, redirect_uri="https://evil.example/cb").status_code == 400
    bad_secret = _token(xero_sandbox, grant_type="refresh_token", refresh_token="x", client_secret="nope")
    assert bad_secret.json() == {"error": "invalid_client"}


def test_refresh_rotates_and_allows_a_retry_within_the_grace(
    xero_sandbox: RunningSandbox, xero_admin: SandboxAdmin
) -> None:
    client = _sdk(xero_sandbox, xero_admin.mint_token([TENANT_A_ID]))
    old_refresh = client.token["refresh_token"]
    refreshed = client.api_client.refresh_oauth2_token()
    assert refreshed["refresh_token"] != old_refresh and client.saved_tokens[-1] == refreshed
    retry = _token(xero_sandbox, grant_type="refresh_token", refresh_token=old_refresh)
    assert retry.status_code == 200
    assert (retry.json()["refresh_token"], retry.json()["access_token"]) == (
        refreshed["refresh_token"],
        refreshed["access_token"],
    )
    client.accounting.get_organisations(TENANT_A_ID)  # the new access token works
    xero_admin.advance_clock(31 * 60)
    late = _token(xero_sandbox, grant_type="refresh_token", refresh_token=old_refresh)
    assert (late.status_code, late.json()) == (400, {"error": "invalid_grant"})


def test_a_used_token_whose_successor_was_used_is_dead(xero_sandbox: RunningSandbox, xero_admin: SandboxAdmin) -> None:
    first = xero_admin.mint_token([TENANT_A_ID])["refresh_token"]
    second = _token(xero_sandbox, grant_type="refresh_token", refresh_token=first).json()["refresh_token"]
    assert _token(xero_sandbox, grant_type="refresh_token", refresh_token=second).status_code == 200
    assert _token(xero_sandbox, grant_type="refresh_token", refresh_token=first).json() == {"error": "invalid_grant"}


def test_refresh_tokens_expire_after_sixty_days(xero_sandbox: RunningSandbox, xero_admin: SandboxAdmin) -> None:
    refresh = xero_admin.mint_token([TENANT_A_ID])["refresh_token"]
    xero_admin.advance_clock(61 * 24 * 3600)
    assert _token(xero_sandbox, grant_type="refresh_token", refresh_token=refresh).json() == {"error": "invalid_grant"}


def test_sdk_refreshes_an_expiring_token_by_itself(xero_sandbox: RunningSandbox, xero_admin: SandboxAdmin) -> None:
    client = _sdk(xero_sandbox, xero_admin.mint_token([TENANT_A_ID]))
    client.token["expires_at"] = 0
    assert client.accounting.get_organisations(TENANT_A_ID).organisations
    assert len(client.saved_tokens) == 1


def test_expired_access_token_is_refused(xero_sandbox: RunningSandbox, xero_admin: SandboxAdmin) -> None:
    token = xero_admin.mint_token([TENANT_A_ID])
    xero_admin.advance_clock(31 * 60)
    response = requests.get(
        f"{xero_sandbox.url}/api.xro/2.0/Organisation",
        timeout=10,
        headers={"Authorization": f"Bearer {token['access_token']}", "xero-tenant-id": TENANT_A_ID},
    )
    assert (response.status_code, response.json()["Detail"]) == (401, "TokenExpired")


def test_client_credentials_for_a_custom_connection(xero_sandbox: RunningSandbox) -> None:
    settings = xero_sandbox.settings
    client = connect(
        xero_sandbox.url,
        {"access_token": "none", "expires_in": 1, "token_type": "Bearer", "scope": []},
        TENANT_A_ID,
        settings.custom_client_id,
        settings.custom_client_secret,
    )
    token = client.api_client.get_client_credentials_token()
    assert "refresh_token" not in token and token["expires_in"] == 1800
    assert client.accounting.get_invoices(TENANT_A_ID).invoices == []
    refused = _token(xero_sandbox, grant_type="client_credentials")  # the ordinary app is not a custom one
    assert refused.json()["error"] == "unauthorized_client"


def test_revocation_and_disconnecting_a_tenant(xero_sandbox: RunningSandbox, xero_admin: SandboxAdmin) -> None:
    token = xero_admin.mint_token([TENANT_A_ID, TENANT_B_ID])
    client = _sdk(xero_sandbox, token)
    connection = next(c for c in client.identity.get_connections() if c.tenant_id == TENANT_B_ID)
    client.identity.delete_connection(connection.id)
    with pytest.raises(HTTPStatusException) as error:
        client.accounting.get_organisations(TENANT_B_ID)
    assert error.value.status == 403
    assert client.accounting.get_organisations(TENANT_A_ID).organisations
    client.api_client.revoke_oauth2_token()
    assert _token(xero_sandbox, grant_type="refresh_token", refresh_token=token["refresh_token"]).json() == {
        "error": "invalid_grant"
    }


@pytest.mark.parametrize(
    ("scopes", "allowed", "refused"),
    [
        (["accounting.transactions", "accounting.settings"], "get_invoices", "get_contacts"),
        (["accounting.contacts.read"], "get_contacts", "get_invoices"),
        (["accounting.payments.read"], "get_payments", "get_organisations"),
        (["accounting.invoices.read"], "get_invoices", "get_payments"),
    ],
)
def test_scopes_must_cover_the_call(
    xero_sdk: Callable[..., SdkClient], scopes: list[str], allowed: str, refused: str
) -> None:
    client = xero_sdk(scopes=scopes)
    getattr(client.accounting, allowed)(TENANT_A_ID)
    with pytest.raises(HTTPStatusException) as error:
        getattr(client.accounting, refused)(TENANT_A_ID)
    assert error.value.status == 401
    assert b"AuthorizationUnsuccessful" in error.value.body


def test_read_scope_cannot_write(xero_sdk: Callable[..., SdkClient], xero_sandbox: RunningSandbox) -> None:
    client = xero_sdk(scopes=["accounting.invoices.read"])
    response = requests.put(
        f"{xero_sandbox.url}/api.xro/2.0/Invoices",
        json={"Invoices": []},
        timeout=10,
        headers={"Authorization": f"Bearer {client.token['access_token']}", "xero-tenant-id": TENANT_A_ID},
    )
    assert response.status_code == 401


def test_wrong_tenant_and_wrong_token(xero_client: SdkClient, xero_sandbox: RunningSandbox) -> None:
    with pytest.raises(HTTPStatusException) as error:
        xero_client.accounting.get_organisations(TENANT_B_ID)  # not connected for this token
    assert error.value.status == 403
    response = requests.get(
        f"{xero_sandbox.url}/api.xro/2.0/Organisation",
        timeout=10,
        headers={"Authorization": "Bearer nonsense", "xero-tenant-id": TENANT_A_ID},
    )
    assert response.status_code == 401 and response.json()["Title"] == "Unauthorized"
    missing = requests.get(
        f"{xero_sandbox.url}/api.xro/2.0/Organisation",
        timeout=10,
        headers={"Authorization": f"Bearer {xero_client.token['access_token']}"},
    )
    assert missing.status_code == 403


def test_tokens_carry_readable_claims(xero_admin: SandboxAdmin, xero_sandbox: RunningSandbox) -> None:
    def claims(token: str) -> dict[str, Any]:
        payload = token.split(".")[1]
        return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))  # type: ignore[no-any-return]

    token = xero_admin.mint_token([TENANT_A_ID], ["openid", "offline_access", "accounting.settings"])
    access = claims(token["access_token"])
    assert access["client_id"] == xero_sandbox.settings.client_id
    assert access["scope"] == ["openid", "offline_access", "accounting.settings"]
    connections = requests.get(
        f"{xero_sandbox.url}/connections", timeout=10, headers={"Authorization": f"Bearer {token['access_token']}"}
    ).json()
    assert connections[0]["authEventId"] == access["authentication_event_id"]
    assert claims(token["id_token"])["email"] == "sandbox.user@example.test"
    assert "id_token" not in xero_admin.mint_token([TENANT_A_ID], ["accounting.settings"])
