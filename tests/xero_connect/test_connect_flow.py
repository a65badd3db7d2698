"""GET /xero/connect -> the sandbox consent page -> /xero/callback -> a Connected row in Dynamics."""

from __future__ import annotations

import base64
from urllib.parse import parse_qs, urlsplit

from app import dynamics_schema as schema
from app.dynamics_schema import ConnectionStatus, DefaultInvoiceStatus, SyncAction, SyncStatus
from app.queue import QUEUE_MAINTENANCE, fetch_job, job_queue
from app.xero_tenants import connection_for_tenant, register_tenant
from sandbox.xero.seed import TENANT_A_ID, TENANT_B_ID
from tests.xero_connect.conftest import ADMIN, ADMIN_TOKEN, consent, custom_env


def import_jobs(connector) -> list[tuple[str, dict]]:
    queue = job_queue(QUEUE_MAINTENANCE, connector.redis)
    return [tuple(fetch_job(job_id, connector.redis).args) for job_id in queue.job_ids]


def test_connect_one_organisation(connector, dynamics):
    start = connector.client.get("/xero/connect", headers=ADMIN)
    location = urlsplit(start.headers["Location"])
    query = parse_qs(location.query)
    assert location.path == "/identity/connect/authorize"
    assert query["redirect_uri"] == ["http://localhost/xero/callback"]
    assert query["scope"][0].split() == [
        "offline_access",
        "accounting.invoices",
        "accounting.payments.read",
        "accounting.contacts",
        "accounting.settings",
    ]
    assert len(query["state"][0]) >= 32

    path, params = consent(connector.client, TENANT_A_ID)
    page = connector.client.get(path, query_string=params)

    assert page.status_code == 200, page.data
    assert b"Sandbox Trading Ltd" in page.data and b"connected" in page.data
    [row] = dynamics.connections()
    connection_id = row[schema.CONNECTION_ID]
    assert row[schema.CONNECTION_XERO_TENANT_ID] == TENANT_A_ID
    assert row[schema.CONNECTION_XERO_TENANT_NAME] == "Sandbox Trading Ltd"
    assert row[schema.CONNECTION_NAME] == "Sandbox Trading Ltd"
    assert row[schema.CONNECTION_XERO_SHORT_CODE] == "!SbxA1"
    assert row[schema.CONNECTION_STATUS] == ConnectionStatus.CONNECTED
    assert row[schema.CONNECTION_STATUS_MESSAGE] is None
    assert row[schema.CONNECTION_IS_DEFAULT] is True, "the first connection is the default"
    assert row[schema.CONNECTION_DEFAULT_INVOICE_STATUS] == DefaultInvoiceStatus.DRAFT
    assert row[schema.CONNECTION_TIME_ZONE] == "Europe/London"
    assert connection_for_tenant(connector.redis, TENANT_A_ID) == connection_id
    stored = connector.tokens.load(connection_id)
    assert stored is not None and stored.refresh_token
    assert import_jobs(connector) == [("reference_data.import", {"connection_id": connection_id})]
    [note] = dynamics.history(connection_id)
    assert note[schema.SYNC_HISTORY_ACTION] == SyncAction.CONNECTION
    assert note[schema.SYNC_HISTORY_STATUS] == SyncStatus.SUCCESS
    assert note[schema.SYNC_HISTORY_DETAILS] == (
        "Connected to the Xero organisation Sandbox Trading Ltd (short code !SbxA1)."
    )


def test_reconnecting_keeps_the_admins_settings_and_a_second_organisation_is_not_default(connector, dynamics):
    existing = dynamics.create_connection(
        {
            schema.CONNECTION_NAME: "Trading (UK)",
            schema.CONNECTION_XERO_TENANT_ID: TENANT_A_ID,
            schema.CONNECTION_IS_DEFAULT: True,
            schema.CONNECTION_STATUS: int(ConnectionStatus.RECONNECT_XERO),
            schema.CONNECTION_STATUS_MESSAGE: "Reconnect Xero: expired",
            schema.CONNECTION_DEFAULT_INVOICE_STATUS: int(DefaultInvoiceStatus.AUTHORISED),
            schema.CONNECTION_DEFAULT_SALES_ACCOUNT_CODE: "260",
        }
    )

    path, params = consent(connector.client, TENANT_A_ID)
    assert b"reconnected" in connector.client.get(path, query_string=params).data
    path, params = consent(connector.client, TENANT_B_ID)
    assert connector.client.get(path, query_string=params).status_code == 200

    rows = {row[schema.CONNECTION_XERO_TENANT_ID]: row for row in dynamics.connections()}
    assert set(rows) == {TENANT_A_ID, TENANT_B_ID}
    again = rows[TENANT_A_ID]
    assert again[schema.CONNECTION_ID] == existing
    assert again[schema.CONNECTION_STATUS] == ConnectionStatus.CONNECTED
    assert again[schema.CONNECTION_STATUS_MESSAGE] is None
    assert again[schema.CONNECTION_NAME] == "Trading (UK)"
    assert again[schema.CONNECTION_DEFAULT_INVOICE_STATUS] == DefaultInvoiceStatus.AUTHORISED
    assert again[schema.CONNECTION_DEFAULT_SALES_ACCOUNT_CODE] == "260"
    assert rows[TENANT_B_ID][schema.CONNECTION_IS_DEFAULT] is False
    assert rows[TENANT_B_ID][schema.CONNECTION_XERO_SHORT_CODE] == "!SbxB2"
    # Each organisation has its own token set: refreshing one never invalidates the other.
    a, b = (connector.tokens.load(rows[t][schema.CONNECTION_ID]) for t in (TENANT_A_ID, TENANT_B_ID))
    assert a.refresh_token != b.refresh_token


def test_two_organisations_the_admin_chooses_one(connector, dynamics):
    path, params = consent(connector.client, "all")
    page = connector.client.get(path, query_string=params)

    assert page.status_code == 200
    assert b"Sandbox Trading Ltd" in page.data and b"Northwind Goods Ltd" in page.data
    assert dynamics.connections() == [], "nothing is connected before the choice"
    choice = page.data.decode().split('name="choice" value="')[1].split('"')[0]
    chosen = connector.client.post("/xero/callback/choose", data={"choice": choice, "tenant_id": TENANT_B_ID})

    assert chosen.status_code == 200, chosen.data
    assert b"Northwind Goods Ltd" in chosen.data
    [row] = dynamics.connections()
    assert row[schema.CONNECTION_XERO_TENANT_ID] == TENANT_B_ID
    assert connection_for_tenant(connector.redis, TENANT_A_ID) is None
    replay = connector.client.post("/xero/callback/choose", data={"choice": choice, "tenant_id": TENANT_A_ID})
    assert replay.status_code == 400, "the choice token is single use"
    assert len(dynamics.connections()) == 1


def test_a_tenant_that_was_not_offered_is_refused(connector, dynamics):
    path, params = consent(connector.client, "all")
    choice = connector.client.get(path, query_string=params).data.decode().split('name="choice" value="')[1][:43]
    answer = connector.client.post(
        "/xero/callback/choose", data={"choice": choice, "tenant_id": "00000000-0000-0000-0000-000000000000"}
    )
    assert answer.status_code == 400
    assert dynamics.connections() == []


def test_reused_unknown_or_missing_state_is_rejected(connector, dynamics):
    path, params = consent(connector.client, TENANT_A_ID)
    assert connector.client.get(path, query_string=params).status_code == 200
    replay = connector.client.get(path, query_string=params)
    forged = connector.client.get(path, query_string={**params, "state": "made-up"})
    missing = connector.client.get(path, query_string={"code": params["code"]})

    for answer in (replay, forged, missing):
        assert answer.status_code == 400
        assert b"expired or was already used" in answer.data
    assert len(dynamics.connections()) == 1


def test_consent_refused_at_xero_connects_nothing_and_uses_up_the_state(connector, dynamics):
    start = connector.client.get("/xero/connect", headers=ADMIN)
    state = parse_qs(urlsplit(start.headers["Location"]).query)["state"][0]
    refused = connector.client.get("/xero/callback", query_string={"error": "access_denied", "state": state})
    assert refused.status_code == 400 and b"access_denied" in refused.data
    assert connector.client.get("/xero/callback", query_string={"code": "x", "state": state}).status_code == 400
    assert dynamics.connections() == []


def test_admin_pages_need_the_admin_token(connector):
    wrong = connector.client.get("/xero/connect", headers={"Authorization": "Bearer not-it"})
    basic = base64.b64encode(f"admin:{ADMIN_TOKEN}".encode()).decode()
    browser = connector.client.get("/xero/connect", headers={"Authorization": f"Basic {basic}"})
    disconnect = connector.client.post("/xero/disconnect/5c0e0a5e-0000-4000-8000-000000000001")

    assert wrong.status_code == 401
    assert wrong.headers["WWW-Authenticate"].startswith("Basic")
    assert browser.status_code == 302
    assert disconnect.status_code == 401


def test_redirect_uri_setting_is_used_when_set(make_connector, redis_url, redis_conn):
    from app import create_app
    from tests.helpers import settings_for

    make_connector()
    app = create_app(
        settings_for(redis_url, admin_token=ADMIN_TOKEN, xero_redirect_uri="https://connector.example/xero/callback"),
        redis=redis_conn,
    )
    start = app.test_client().get("/xero/connect", headers=ADMIN)
    assert parse_qs(urlsplit(start.headers["Location"]).query)["redirect_uri"] == [
        "https://connector.example/xero/callback"
    ]


def test_disconnect_revokes_at_xero_and_marks_the_row(connector, dynamics, xero_sandbox):
    path, params = consent(connector.client, TENANT_A_ID)
    connector.client.get(path, query_string=params)
    [row] = dynamics.connections()
    connection_id = row[schema.CONNECTION_ID]
    refresh_token = connector.tokens.load(connection_id).refresh_token

    cross_site = connector.client.post(
        f"/xero/disconnect/{connection_id}", headers={**ADMIN, "Origin": "https://elsewhere.example"}
    )
    assert cross_site.status_code == 403
    answer = connector.client.post(f"/xero/disconnect/{connection_id}", headers=ADMIN)

    assert answer.status_code == 200, answer.data
    assert b"Sandbox Trading Ltd" in answer.data
    row = dynamics.connection(connection_id)
    assert row[schema.CONNECTION_STATUS] == ConnectionStatus.DISCONNECTED
    assert "Disconnected from Xero" in row[schema.CONNECTION_STATUS_MESSAGE]
    assert connector.tokens.load(connection_id) is None
    assert connection_for_tenant(connector.redis, TENANT_A_ID) is None
    assert dynamics.history(connection_id)[-1][schema.SYNC_HISTORY_DETAILS].startswith("Disconnected from Xero")
    settings = xero_sandbox.settings
    at_xero = xero_sandbox_post_refresh(xero_sandbox.url, settings.client_id, settings.client_secret, refresh_token)
    assert at_xero.json() == {"error": "invalid_grant"}, "the consent is revoked at Xero"
    grants = xero_sandbox.state.identity.grants.values()
    assert all(not grant.connections for grant in grants), "the organisation's connection is removed"


def xero_sandbox_post_refresh(url: str, client_id: str, secret: str, refresh_token: str):
    import requests

    return requests.post(
        f"{url}/connect/token",
        data={"grant_type": "refresh_token", "refresh_token": refresh_token},
        auth=(client_id, secret),
        timeout=10,
    )


def test_disconnecting_an_unknown_connection_is_404(connector):
    assert (
        connector.client.post("/xero/disconnect/5c0e0a5e-0000-4000-8000-0000000000ff", headers=ADMIN).status_code == 404
    )
    assert connector.client.post("/xero/disconnect/not-a-guid", headers=ADMIN).status_code == 404


def test_custom_connection_connects_without_a_browser(make_connector, dynamics):
    connector = make_connector(**custom_env())
    assert connector.client.get("/xero/connect", headers=ADMIN).status_code == 400, "no consent page to go to"

    answer = connector.client.post("/xero/connect", headers=ADMIN)

    assert answer.status_code == 200, answer.data
    assert b"Sandbox Trading Ltd" in answer.data
    [row] = dynamics.connections()
    assert row[schema.CONNECTION_XERO_TENANT_ID] == TENANT_A_ID
    assert row[schema.CONNECTION_STATUS] == ConnectionStatus.CONNECTED
    stored = connector.tokens.load(row[schema.CONNECTION_ID])
    assert stored is not None and stored.refresh_token is None
    assert connection_for_tenant(connector.redis, TENANT_A_ID) == row[schema.CONNECTION_ID]


def test_post_connect_without_a_custom_connection_is_refused(connector, dynamics):
    answer = connector.client.post("/xero/connect", headers=ADMIN)
    assert answer.status_code == 400
    assert b"/xero/connect" in answer.data
    assert dynamics.connections() == []


def test_not_configured_is_a_clear_503(monkeypatch, redis_url, redis_conn):
    from app import create_app
    from app.services import forget_services
    from tests.helpers import settings_for

    for name in ("DATAVERSE_URL", "XERO_CLIENT_ID"):
        monkeypatch.delenv(name, raising=False)
    forget_services()
    app = create_app(settings_for(redis_url, admin_token=ADMIN_TOKEN), redis=redis_conn)
    answer = app.test_client().get("/xero/connect", headers=ADMIN)
    assert answer.status_code == 503
    assert b"not configured" in answer.data


def test_an_organisation_already_registered_elsewhere_is_moved_to_its_row(connector, dynamics):
    register_tenant(connector.redis, TENANT_A_ID, "stale-connection")
    path, params = consent(connector.client, TENANT_A_ID)
    connector.client.get(path, query_string=params)
    [row] = dynamics.connections()
    assert connection_for_tenant(connector.redis, TENANT_A_ID) == row[schema.CONNECTION_ID]


def test_a_code_xero_no_longer_accepts_is_a_clear_refusal(connector, dynamics):
    path, params = consent(connector.client, TENANT_A_ID)
    assert connector.client.get(path, query_string=params).status_code == 200
    start = connector.client.get("/xero/connect", headers=ADMIN)
    fresh_state = parse_qs(urlsplit(start.headers["Location"]).query)["state"][0]

    reused_code = connector.client.get(path, query_string={**params, "state": fresh_state})

    assert reused_code.status_code == 400
    assert b"Xero refused the authorisation" in reused_code.data
    assert len(dynamics.connections()) == 1


def test_disconnect_still_completes_when_xero_already_dropped_the_consent(connector, dynamics, xero_sandbox):
    path, params = consent(connector.client, TENANT_A_ID)
    connector.client.get(path, query_string=params)
    [row] = dynamics.connections()
    connection_id = row[schema.CONNECTION_ID]
    for grant in xero_sandbox.state.identity.grants.values():
        grant.revoked = True  # the user removed the app in Xero's own settings

    answer = connector.client.post(f"/xero/disconnect/{connection_id}", headers=ADMIN)

    assert answer.status_code == 200, answer.data
    assert dynamics.connection(connection_id)[schema.CONNECTION_STATUS] == ConnectionStatus.DISCONNECTED
    assert connector.tokens.load(connection_id) is None
    assert connection_for_tenant(connector.redis, TENANT_A_ID) is None


def test_a_new_connection_gets_default_account_codes_from_its_own_chart(connector, dynamics):
    from app.services import services_for
    from handlers.reference_data import import_reference_data, read_connection

    path, params = consent(connector.client, TENANT_B_ID)
    assert connector.client.get(path, query_string=params).status_code == 200
    [row] = dynamics.connections()
    assert row[schema.CONNECTION_DEFAULT_SALES_ACCOUNT_CODE] is None, "nothing is guessed before the chart is read"

    [(kind, payload)] = import_jobs(connector)
    services = services_for(connector.redis)
    assert kind == "reference_data.import" and services is not None
    import_reference_data(services, read_connection(services, payload["connection_id"]))  # the job it queued

    [row] = dynamics.connections()
    assert (
        row[schema.CONNECTION_DEFAULT_SALES_ACCOUNT_CODE],
        row[schema.CONNECTION_DEFAULT_PURCHASE_ACCOUNT_CODE],
    ) == (
        "200",
        "300",
    )
    notes = [h[schema.SYNC_HISTORY_DETAILS] for h in dynamics.history(row[schema.CONNECTION_ID])]
    assert any(n.startswith("Default account codes proposed from the organisation's chart of accounts") for n in notes)
