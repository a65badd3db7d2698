"""The console's guards and actions over real HTTP: the admin password, same-origin forms, checked account codes,
disconnecting, and retrying every failed invoice of a connection."""

from __future__ import annotations

import re
from datetime import date

import requests
from cryptography.fernet import Fernet

from app import create_app
from app import dynamics_schema as schema
from app.admin.activity import web_link
from app.admin.attention import TOTALS_DIFFERENCE, TOTALS_STATUS
from app.admin.connections import NO_AUTHORISATION_REASON
from app.dynamics_schema import ConnectionStatus, ExportStatus, SyncStatus
from app.embedded_redis import free_port
from app.queue import QUEUE_DATAVERSE
from app.services import forget_services
from sandbox.dataverse.seed import ACCOUNT_IDS, PRICE_LIST_ID
from sandbox.xero.seed import TENANT_A_ID
from tests.admin.conftest import ADMIN_TOKEN, Console
from tests.helpers import settings_for
from tests.stack_helpers import store_token, xero_env

AUTH = ("admin", ADMIN_TOKEN)


def connected_row(console: Console, **columns: object) -> str:
    """A connection row for sandbox tenant A with a stored token, as the connect flow leaves it."""
    api = console.dynamics
    row = api.create(
        schema.CONNECTION_ENTITY_SET,
        {
            schema.CONNECTION_NAME: "Sandbox Trading Ltd",
            schema.CONNECTION_XERO_TENANT_ID: TENANT_A_ID,
            schema.CONNECTION_XERO_TENANT_NAME: "Sandbox Trading Ltd",
            schema.CONNECTION_XERO_SHORT_CODE: "!SbxA1",
            schema.CONNECTION_TIME_ZONE: "Europe/London",
            schema.CONNECTION_STATUS: int(ConnectionStatus.CONNECTED),
            schema.CONNECTION_CREATE_CONTACTS: True,
            schema.CONNECTION_DEFAULT_SALES_ACCOUNT_CODE: "200",
            **columns,
        },
    )
    connection_id = str(row[schema.CONNECTION_ID])
    store_token(console.stack.tokens, console.stack.xero, connection_id, TENANT_A_ID)
    return connection_id


def account_code(console: Console, connection_id: str, code: str, name: str) -> None:
    console.dynamics.create(
        schema.ACCOUNT_CODE_ENTITY_SET,
        {
            schema.REFERENCE_NAME: name,
            schema.ACCOUNT_CODE_CODE: code,
            schema.ACCOUNT_CODE_TYPE: "REVENUE",
            schema.REFERENCE_IS_ACTIVE: True,
            **schema.bind(
                schema.lookup(schema.ACCOUNT_CODE_TABLE.logical_name, schema.REFERENCE_CONNECTION), connection_id
            ),
        },
    )


def test_pages_need_the_admin_password_and_forms_their_own_origin(console: Console) -> None:
    assert requests.get(f"{console.url}/admin", timeout=10).status_code == 401
    assert requests.get(f"{console.url}/admin/queues", auth=("admin", "wrong"), timeout=10).status_code == 401
    assert requests.get(f"{console.url}/admin/queues", auth=AUTH, timeout=10).status_code == 200
    connection_id = connected_row(console)

    cross_site = requests.post(
        f"{console.url}/admin/connections/{connection_id}/disconnect",
        auth=AUTH,
        headers={"Origin": "https://elsewhere.example"},
        timeout=10,
    )

    assert cross_site.status_code == 403
    told_by_browser = requests.post(
        f"{console.url}/admin/connections/{connection_id}/disconnect",
        auth=AUTH,
        headers={"Sec-Fetch-Site": "cross-site"},
        timeout=10,
    )
    assert told_by_browser.status_code == 403
    row = console.dynamics.get(schema.CONNECTION_ENTITY_SET, connection_id)
    assert row[schema.CONNECTION_STATUS] == ConnectionStatus.CONNECTED, "nothing was done"


def test_without_a_token_the_console_is_closed(redis_url) -> None:
    client = create_app(settings_for(redis_url, admin_token="")).test_client()
    answer = client.get("/admin", headers={"Authorization": "Bearer anything"})
    assert answer.status_code == 503 and "ADMIN_TOKEN" in answer.get_json()["error"]


def test_without_dynamics_and_xero_the_pages_say_what_is_missing(redis_url, monkeypatch) -> None:
    for name in ("DATAVERSE_URL", "XERO_CLIENT_ID"):
        monkeypatch.delenv(name, raising=False)
    forget_services()
    client = create_app(settings_for(redis_url, admin_token=ADMIN_TOKEN)).test_client()
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    page = client.get("/admin", headers=headers)
    assert page.status_code == 503 and b"DATAVERSE_URL" in page.data and b"<html" in page.data
    assert client.get("/admin/queues", headers=headers).status_code == 200, "the queues need only Redis"


def test_mapping_takes_only_the_organisations_own_codes(console: Console) -> None:
    connection_id = connected_row(console, **{schema.CONNECTION_DEFAULT_SALES_ACCOUNT_CODE: "200"})
    account_code(console, connection_id, "260", "Other Revenue")
    url = f"{console.url}/admin/connections/{connection_id}/mapping"
    page = requests.get(url, auth=AUTH, timeout=10)
    assert "260 Other Revenue" in page.text
    assert "200 (not in Xero's active list)" in page.text, "the saved code is kept visible, not silently dropped"

    refused = requests.post(url, auth=AUTH, data={schema.CONNECTION_DEFAULT_SALES_ACCOUNT_CODE: "999"}, timeout=10)
    assert refused.status_code == 400 and "&#39;999&#39; is not one of this organisation" in refused.text
    row = console.dynamics.get(schema.CONNECTION_ENTITY_SET, connection_id)
    assert row[schema.CONNECTION_DEFAULT_SALES_ACCOUNT_CODE] == "200", "nothing written"

    saved = requests.post(
        url,
        auth=AUTH,
        data={schema.CONNECTION_DEFAULT_SALES_ACCOUNT_CODE: "260", schema.CONNECTION_DEFAULT_PURCHASE_ACCOUNT_CODE: ""},
        timeout=10,
    )
    assert saved.status_code == 200 and "Account mapping of Sandbox Trading Ltd saved." in saved.text
    row = console.dynamics.get(schema.CONNECTION_ENTITY_SET, connection_id)
    assert row[schema.CONNECTION_DEFAULT_SALES_ACCOUNT_CODE] == "260"
    assert row[schema.CONNECTION_DEFAULT_PURCHASE_ACCOUNT_CODE] is None


def test_disconnect_from_the_console(console: Console) -> None:
    connection_id = connected_row(console)
    answer = requests.post(f"{console.url}/admin/connections/{connection_id}/disconnect", auth=AUTH, timeout=10)
    assert answer.status_code == 200 and "Disconnected Sandbox Trading Ltd" in answer.text
    row = console.dynamics.get(schema.CONNECTION_ENTITY_SET, connection_id)
    assert row[schema.CONNECTION_STATUS] == ConnectionStatus.DISCONNECTED
    assert console.stack.tokens.load(connection_id) is None


def test_retry_every_failed_invoice_of_a_connection(console: Console) -> None:
    connection_id = connected_row(console)
    flow = console.harness(connection_id)
    failed = [
        str(
            flow.person.create(
                "invoices",
                {
                    "name": f"Failed earlier {n}",
                    "customerid_account@odata.bind": f"/accounts({ACCOUNT_IDS[0]})",
                    "pricelevelid@odata.bind": f"/pricelevels({PRICE_LIST_ID})",
                    "datedelivered": date.today().isoformat(),
                    schema.INVOICE_EXPORT_STATUS: int(ExportStatus.FAILED),
                },
            )["invoiceid"]
        )
        for n in (1, 2)
    ]
    for invoice_id in failed:
        flow.new_line(invoice_id)
        flow.set_connection(invoice_id)
    flow.drain()
    assert all(flow.invoice_row(i)[schema.INVOICE_EXPORT_STATUS] == ExportStatus.FAILED for i in failed)

    answer = requests.post(f"{console.url}/admin/connections/{connection_id}/retry-failed", auth=AUTH, timeout=10)

    assert answer.status_code == 200 and "a new attempt is queued for each failed invoice" in answer.text
    assert all(flow.invoice_row(i)[schema.INVOICE_EXPORT_STATUS] == ExportStatus.NO for i in failed)
    queued = [job.args[1]["invoice_id"] for job in console.jobs.queue(QUEUE_DATAVERSE).jobs]
    assert sorted(set(queued)) == sorted(failed)
    flow.drain()
    assert all(flow.invoice_row(i)[schema.INVOICE_EXPORT_STATUS] == ExportStatus.YES for i in failed)


def test_only_web_addresses_become_links() -> None:
    assert web_link("https://go.xero.com/organisationlogin/default.aspx?shortcode=!SbxA1") is not None
    assert web_link("javascript:alert(document.cookie)") is None
    assert web_link(None) is None


def test_the_service_address_leads_to_the_console(redis_url) -> None:
    answer = create_app(settings_for(redis_url, admin_token=ADMIN_TOKEN)).test_client().get("/")
    assert answer.status_code == 302 and answer.headers["Location"] == "/admin"


def test_dynamics_down_is_a_page_saying_try_again(redis_url, monkeypatch, xero_sandbox) -> None:
    monkeypatch.setenv("DATAVERSE_URL", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("DATAVERSE_TOKEN", "sandbox-connector-token")
    monkeypatch.setenv("DATAVERSE_RETRY_BUDGET_SECONDS", "0.2")
    for name, value in xero_env(xero_sandbox, Fernet.generate_key().decode()).items():
        monkeypatch.setenv(name, value)
    forget_services()
    client = create_app(settings_for(redis_url, admin_token=ADMIN_TOKEN)).test_client()
    try:
        page = client.get("/admin", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    finally:
        forget_services()
    assert page.status_code == 503 and b"try again in a moment" in page.data


def test_redis_down_is_a_page_saying_try_again() -> None:
    settings = settings_for(f"redis://127.0.0.1:{free_port()}/0", admin_token=ADMIN_TOKEN)
    client = create_app(settings).test_client()
    page = client.get("/admin/queues", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    assert page.status_code == 503 and b"Redis cannot be reached" in page.data


def test_a_connected_row_without_a_stored_authorisation_asks_for_a_reconnect(console: Console) -> None:
    connection_id = connected_row(console)
    console.stack.tokens.delete(connection_id)
    page = requests.get(f"{console.url}/admin", auth=AUTH, timeout=10)
    assert "Reconnect Xero" in page.text and NO_AUTHORISATION_REASON in page.text


def test_activity_filters_by_outcome_and_connection(console: Console) -> None:
    first = connected_row(console)
    second = console.dynamics.create(schema.CONNECTION_ENTITY_SET, {schema.CONNECTION_NAME: "Northwind Goods Ltd"})[
        schema.CONNECTION_ID
    ]
    history = schema.lookup(schema.SYNC_HISTORY_ENTITY, schema.SYNC_HISTORY_CONNECTION)
    for connection_id, status, details in (
        (first, SyncStatus.SUCCESS, "first organisation, fine"),
        (first, SyncStatus.FAILED, "first organisation, broken"),
        (second, SyncStatus.FAILED, "second organisation, broken"),
    ):
        console.dynamics.create(
            schema.SYNC_HISTORY_ENTITY_SET,
            {
                schema.SYNC_HISTORY_NAME: details,
                schema.SYNC_HISTORY_OCCURRED_ON: "2026-01-05T10:00:00Z",
                schema.SYNC_HISTORY_STATUS: int(status),
                schema.SYNC_HISTORY_DETAILS: details,
                **schema.bind(history, connection_id),
            },
        )

    def shown(**filters: str) -> list[str]:
        page = requests.get(f"{console.url}/admin/activity", params=filters, auth=AUTH, timeout=10).text
        return [
            d
            for d in ("first organisation, fine", "first organisation, broken", "second organisation, broken")
            if d in page
        ]

    assert len(shown()) == 3
    assert shown(outcome="failed") == ["first organisation, broken", "second organisation, broken"]
    assert shown(outcome="failed", connection=second) == ["second organisation, broken"]
    assert shown(connection=first) == ["first organisation, fine", "first organisation, broken"]


def test_invoices_whose_totals_differ_are_listed(console: Console) -> None:
    connection_id = connected_row(console)
    flow = console.harness(connection_id)
    invoice_id = flow.new_invoice(name="Totals story invoice", ready=False)
    console.dynamics.update(
        "invoices",
        invoice_id,
        {
            TOTALS_STATUS: int(schema.TotalsStatus.DIFFER),
            TOTALS_DIFFERENCE: "Xero's total is 0.01 GBP higher: Xero rounds tax per line.",
        },
    )
    page = requests.get(f"{console.url}/admin/attention", auth=AUTH, timeout=10).text
    assert "Totals differ from Xero" in page
    assert "Totals story invoice" in page and "Xero rounds tax per line." in page


def test_an_invoices_timeline_shows_its_webhooks_jobs_xero_calls_and_history(console: Console) -> None:
    flow = console.harness(connected_row(console))
    invoice_id = flow.new_invoice(name="Timeline story invoice")
    flow.drain()
    assert flow.invoice_row(invoice_id)[schema.INVOICE_EXPORT_STATUS] == ExportStatus.YES

    page = requests.get(f"{console.url}/admin/invoices/{invoice_id}", auth=AUTH, timeout=10).text
    timeline = page[page.index('id="timeline"') : page.index('id="jobs"')]
    webhook = timeline.index("Dynamics: Create of invoice received → a job was queued")
    assert "Dynamics: Create of invoice line received → joined the job already waiting" in timeline
    job = timeline.index("Job queued: Send invoice to Xero")
    put = re.search(r"Xero: PUT Invoices → 200 in \d+ ms", timeline)
    written = timeline.index("Written to Dynamics:")
    assert put is not None, timeline
    assert webhook < job < put.start() < written, "in time order"
