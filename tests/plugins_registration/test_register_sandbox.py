"""`register`, `status`, `unregister` and `rotate-secret` against a sandbox Dataverse."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from typing import Any

import pytest

from app.clients.dataverse_auth import forget_msal_applications
from app.embedded_redis import free_port
from plugins_registration import register as register_module
from plugins_registration.auth import static_token
from plugins_registration.provision import provision
from plugins_registration.steps import ENDPOINT_NAME, desired_steps
from plugins_registration.webapi import WebApi
from sandbox.dataverse.seed import SANDBOX_CONNECTOR_TOKEN, SANDBOX_PERSON_TOKEN
from tests.plugins_registration.conftest import WEBHOOK_SECRET, Org
from tests.plugins_registration.stub_server import Canned, StubServer, stub_server
from tests.stack_helpers import quiet_report

HOOK = "https://connector.example.com/webhooks/dataverse"


@pytest.fixture
def provisioned(org: Org) -> Org:
    """The tables and columns registration needs; forms, views, roles and the app are left out (they cost time
    and registration does not touch them). The status test provisions them itself."""
    provision(WebApi(org.url, static_token(SANDBOX_CONNECTOR_TOKEN)), quiet_report(), customizations=False)
    return org


STEP_COUNT = len(desired_steps())
IMAGE_COUNT = sum(len(step.images) for step in desired_steps())


def wait_for(condition: Callable[[], Any], timeout: float = 20.0) -> Any:
    """Polls until condition() is truthy; the sandbox delivers webhooks on a background thread."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(0.05)


def endpoint(org: Org) -> dict[str, Any]:
    rows = org.rows("serviceendpoints", **{"$filter": "contract eq 8"})
    assert len(rows) == 1
    return rows[0]


def steps_of(org: Org, endpoint_id: str) -> dict[str, dict[str, Any]]:
    rows = org.rows("sdkmessageprocessingsteps", **{"$filter": f"_eventhandler_value eq {endpoint_id}"})
    return {row["name"]: row for row in rows}


def step_ids_of(org: Org, endpoint_id: str) -> set[str]:
    return {row["sdkmessageprocessingstepid"] for row in steps_of(org, endpoint_id).values()}


def images_of(org: Org, step_id: str) -> dict[str, dict[str, Any]]:
    rows = org.rows("sdkmessageprocessingstepimages", **{"$filter": f"_sdkmessageprocessingstepid_value eq {step_id}"})
    return {row["entityalias"]: row for row in rows}


def all_images(org: Org) -> list[dict[str, Any]]:
    return org.rows("sdkmessageprocessingstepimages")


def create_invoice(org: Org, name: str) -> str:
    account = org.rows("accounts", **{"$select": "accountid", "$top": "1"})[0]["accountid"]
    response = org.session.post(
        org.api + "invoices",
        json={"name": name, "customerid_account@odata.bind": f"/accounts({account})"},
        headers={"Prefer": "return=representation"},
    )
    assert response.status_code in (200, 201), response.text
    return str(response.json()["invoiceid"])


def test_register_creates_the_endpoint_steps_and_images_then_a_rerun_changes_nothing(provisioned: Org) -> None:
    first = provisioned.run("register", "--url", HOOK, "--auth", "header")
    assert first.code == 0, first.err
    assert f"create webhook endpoint '{ENDPOINT_NAME}' -> {HOOK} (header x-connector-key)" in first.out
    assert WEBHOOK_SECRET not in first.out + first.err

    registered = endpoint(provisioned)
    assert registered["url"] == HOOK and registered["authtype"] == 5
    assert "authvalue" not in registered or registered["authvalue"] is None
    steps = steps_of(provisioned, registered["serviceendpointid"])
    assert set(steps) == {step.name for step in desired_steps()}
    for step in steps.values():
        assert (step["stage"], step["mode"], step["rank"], step["statecode"]) == (40, 1, 1, 0)
    invoice_update = steps["Xero connector: Update of invoice"]
    assert "xc_exportstatus" in invoice_update["filteringattributes"].split(",")
    invoice_delete = images_of(provisioned, steps["Xero connector: Delete of invoice"]["sdkmessageprocessingstepid"])
    assert invoice_delete["PreImage"]["imagetype"] == 0
    assert "xc_xeroinvoiceid" in invoice_delete["PreImage"]["attributes"].split(",")
    line_create = images_of(provisioned, steps["Xero connector: Create of invoicedetail"]["sdkmessageprocessingstepid"])
    post_image = line_create["PostImage"]
    assert (post_image["messagepropertyname"], post_image["attributes"]) == ("Id", "invoiceid")
    assert len(all_images(provisioned)) == IMAGE_COUNT

    again = provisioned.run("register", "--url", HOOK, "--auth", "header")
    assert again.code == 0, again.err
    assert "Registration: already up to date, nothing changed." in again.out
    assert len(steps_of(provisioned, registered["serviceendpointid"])) == STEP_COUNT
    assert len(all_images(provisioned)) == IMAGE_COUNT


def test_register_dry_run_changes_nothing(provisioned: Org) -> None:
    outcome = provisioned.run("register", "--url", HOOK, "--auth", "webhookkey", "--dry-run")
    assert outcome.code == 0, outcome.err
    assert "would create webhook endpoint" in outcome.out
    assert "would create step 'Xero connector: Delete of invoice'" in outcome.out
    assert provisioned.rows("serviceendpoints", **{"$filter": "contract eq 8"}) == []
    assert provisioned.rows("sdkmessageprocessingsteps", **{"$filter": "startswith(name, 'Xero connector')"}) == []


def test_a_changed_url_is_updated_in_place(provisioned: Org) -> None:
    assert provisioned.run("register", "--url", HOOK, "--auth", "webhookkey").code == 0
    before = endpoint(provisioned)
    step_ids = step_ids_of(provisioned, before["serviceendpointid"])

    moved = "https://connector2.example.com/webhooks/dataverse"
    dry = provisioned.run("register", "--url", moved, "--auth", "webhookkey", "--dry-run")
    assert f"would change webhook endpoint URL to {moved}" in dry.out
    assert endpoint(provisioned)["url"] == HOOK

    outcome = provisioned.run("register", "--url", moved, "--auth", "webhookkey")
    assert outcome.code == 0, outcome.err
    assert "Registration: 1 change(s) made." in outcome.out
    after = endpoint(provisioned)
    assert (after["serviceendpointid"], after["url"]) == (before["serviceendpointid"], moved)
    assert step_ids_of(provisioned, after["serviceendpointid"]) == step_ids


def test_drifted_filtering_attributes_images_and_disabled_steps_are_put_right_in_place(provisioned: Org) -> None:
    assert provisioned.run("register", "--url", HOOK, "--auth", "header").code == 0
    steps = steps_of(provisioned, endpoint(provisioned)["serviceendpointid"])
    update = steps["Xero connector: Update of invoice"]
    update_id = update["sdkmessageprocessingstepid"]
    delete_id = steps["Xero connector: Delete of invoice"]["sdkmessageprocessingstepid"]
    image = images_of(provisioned, delete_id)["PreImage"]
    session, api = provisioned.session, provisioned.api
    assert (
        session.patch(api + f"sdkmessageprocessingsteps({update_id})", json={"filteringattributes": "name"}).status_code
        == 204
    )
    assert (
        session.patch(
            api + f"sdkmessageprocessingstepimages({image['sdkmessageprocessingstepimageid']})",
            json={"attributes": "name"},
        ).status_code
        == 204
    )
    create_id = steps["Xero connector: Create of invoice"]["sdkmessageprocessingstepid"]
    assert (
        session.patch(
            api + f"sdkmessageprocessingsteps({create_id})", json={"statecode": 1, "statuscode": 2}
        ).status_code
        == 204
    )

    outcome = provisioned.run("register", "--url", HOOK, "--auth", "header")
    assert outcome.code == 0, outcome.err
    assert "update step 'Xero connector: Update of invoice': filteringattributes" in outcome.out
    assert "update image PreImage of 'Xero connector: Delete of invoice': attributes" in outcome.out
    assert "update step 'Xero connector: Create of invoice': statecode" in outcome.out
    steps_after = steps_of(provisioned, endpoint(provisioned)["serviceendpointid"])
    assert steps_after["Xero connector: Update of invoice"]["sdkmessageprocessingstepid"] == update_id
    assert steps_after["Xero connector: Update of invoice"]["filteringattributes"] == update["filteringattributes"]
    assert steps_after["Xero connector: Create of invoice"]["statecode"] == 0
    restored = images_of(provisioned, delete_id)["PreImage"]
    assert restored["sdkmessageprocessingstepimageid"] == image["sdkmessageprocessingstepimageid"]
    assert restored["attributes"] == image["attributes"]
    assert "already up to date" in provisioned.run("register", "--url", HOOK, "--auth", "header").out


def test_register_before_provision_says_to_provision_first(org: Org) -> None:
    outcome = org.run("register", "--url", HOOK, "--auth", "header")
    assert outcome.code == 1
    assert "run `plugins_registration provision` first" in outcome.err
    assert org.rows("serviceendpoints", **{"$filter": "contract eq 8"}) == []


def test_register_without_a_secret_is_a_usage_error(provisioned: Org) -> None:
    env = provisioned.env()
    del env["DATAVERSE_WEBHOOK_SECRETS"]
    outcome = provisioned.run("register", "--url", HOOK, "--auth", "header", env=env)
    assert outcome.code == 2
    assert "DATAVERSE_WEBHOOK_SECRETS is not set" in outcome.err
    assert provisioned.rows("serviceendpoints", **{"$filter": "contract eq 8"}) == []


def test_unregister_removes_the_endpoint_steps_and_images(provisioned: Org) -> None:
    assert provisioned.run("register", "--url", HOOK, "--auth", "header").code == 0
    dry = provisioned.run("unregister", "--dry-run")
    assert "would remove webhook endpoint" in dry.out
    assert len(all_images(provisioned)) == IMAGE_COUNT

    outcome = provisioned.run("unregister")
    assert outcome.code == 0, outcome.err
    assert provisioned.rows("serviceendpoints", **{"$filter": "contract eq 8"}) == []
    assert provisioned.rows("sdkmessageprocessingsteps", **{"$filter": "startswith(name, 'Xero connector')"}) == []
    assert all_images(provisioned) == []
    assert "Nothing is registered" in provisioned.run("unregister").out


def test_status_lists_steps_images_and_failed_jobs(provisioned: Org) -> None:
    assert provisioned.run("provision").code == 0  # everything, so the status says the schema is up to date
    closed = f"http://127.0.0.1:{free_port()}/webhooks/dataverse?code=should-not-show"
    assert provisioned.run("register", "--url", closed.split("?")[0], "--auth", "webhookkey").code == 0
    create_invoice(provisioned, "Status check")
    failed = wait_for(lambda: provisioned.rows("asyncoperations", **{"$filter": "statuscode eq 31"}))
    assert failed, "the sandbox should record the failed delivery as a failed system job"

    outcome = provisioned.run("status")
    assert outcome.code == 0, outcome.err
    assert "Schema: up to date" in outcome.out
    assert f"Webhook endpoint '{ENDPOINT_NAME}': {closed.split('?')[0]} (auth: webhookkey)" in outcome.out
    for step in desired_steps():
        assert f"step '{step.name}': enabled, async, stage 40" in outcome.out
    assert "pre-image 'PreImage': xc_xeroinvoiceid," in outcome.out
    assert "Recent failed system jobs (1):" in outcome.out
    assert "'Xero connector: Create of invoice'" in outcome.out.split("Recent failed system jobs")[1]
    assert WEBHOOK_SECRET not in outcome.out


def deliveries_with(server: StubServer, header: str, value: str) -> list[Any]:
    return [req for req in server.requests if req[2].get(header) == value]


def test_rotate_secret_writes_the_new_secret_used_for_deliveries(provisioned: Org) -> None:
    with stub_server([Canned(200)] * 50) as receiver:
        hook = f"{receiver.url}/webhooks/dataverse"
        assert provisioned.run("register", "--url", hook, "--auth", "header").code == 0
        create_invoice(provisioned, "Before rotation")
        assert wait_for(lambda: deliveries_with(receiver, "x-connector-key", WEBHOOK_SECRET))

        new_env = provisioned.env(DATAVERSE_WEBHOOK_SECRETS=f"second-secret-abcdef,{WEBHOOK_SECRET}")
        dry = provisioned.run("rotate-secret", "--dry-run", env=new_env)
        assert "would write the new secret" in dry.out
        outcome = provisioned.run("rotate-secret", env=new_env)
        assert outcome.code == 0, outcome.err
        assert "second-secret-abcdef" not in outcome.out + outcome.err
        seen = len(receiver.requests)
        create_invoice(provisioned, "After rotation")
        assert wait_for(lambda: deliveries_with(receiver, "x-connector-key", "second-secret-abcdef"))
        assert all(req[2].get("x-connector-key") == "second-secret-abcdef" for req in receiver.requests[seen:])


def test_switching_to_webhook_key_rewrites_the_secret(provisioned: Org) -> None:
    with stub_server([Canned(200)] * 50) as receiver:
        hook = f"{receiver.url}/webhooks/dataverse"
        assert provisioned.run("register", "--url", hook, "--auth", "header").code == 0
        outcome = provisioned.run("register", "--url", hook, "--auth", "webhookkey")
        assert "switch webhook endpoint auth to webhookkey (writes the secret)" in outcome.out
        assert endpoint(provisioned)["authtype"] == 4
        create_invoice(provisioned, "Webhook key")
        assert wait_for(lambda: [req for req in receiver.requests if f"code={WEBHOOK_SECRET}" in req[1]])


def test_rotate_secret_without_registration_fails_clearly(provisioned: Org) -> None:
    outcome = provisioned.run("rotate-secret")
    assert outcome.code == 1
    assert "No webhook endpoint is registered yet" in outcome.err


@pytest.mark.parametrize("command", [["provision"], ["register", "--url", HOOK, "--auth", "header"]])
def test_a_person_without_customisation_privileges_gets_the_missing_privilege(org: Org, command: list[str]) -> None:
    if command[0] == "register":
        assert org.run("provision").code == 0
    outcome = org.run(*command, env=org.env(token=SANDBOX_PERSON_TOKEN))
    assert outcome.code == 1
    assert "The Dataverse user lacks the prv" in outcome.err
    assert "System Administrator" in outcome.err
    assert SANDBOX_PERSON_TOKEN not in outcome.err and outcome.err.count("\n") == 1


def test_a_wrong_token_gets_a_clear_401_message(org: Org) -> None:
    outcome = org.run("provision", env=org.env(token="not-a-real-token"))
    assert outcome.code == 1
    assert "rejected the credentials (401 Unauthorized)" in outcome.err
    assert "not-a-real-token" not in outcome.err + outcome.out
    assert "Traceback" not in outcome.err


def test_an_unreachable_org_names_the_url(org: Org) -> None:
    nowhere = f"http://127.0.0.1:{free_port()}"
    outcome = org.run("status", env={**org.env(), "DATAVERSE_URL": nowhere})
    assert outcome.code == 1
    assert outcome.err == (
        f"error: Cannot reach Dataverse at {nowhere} (connection failed): check DATAVERSE_URL and the network\n"
    )


def test_the_msal_path_signs_in_and_registers(org: Org, monkeypatch: pytest.MonkeyPatch) -> None:
    """Only msal's ConfidentialClientApplication is replaced: it hands out the sandbox's connector token."""
    asked: list[tuple[str, str, list[str]]] = []

    class Application:
        def __init__(self, client_id: str, authority: str, client_credential: str, **options: Any) -> None:
            self.client_id, self.authority = client_id, authority

        def acquire_token_for_client(self, scopes: list[str]) -> dict[str, str]:
            asked.append((self.client_id, self.authority, scopes))
            return {"access_token": SANDBOX_CONNECTOR_TOKEN, "token_type": "Bearer"}

    monkeypatch.setattr("msal.ConfidentialClientApplication", Application)
    forget_msal_applications()  # the connector keeps one msal application per process and credentials
    env = {
        "DATAVERSE_URL": org.url,
        "DATAVERSE_TENANT_ID": "contoso-tenant",
        "DATAVERSE_CLIENT_ID": "app-1",
        "DATAVERSE_CLIENT_SECRET": "app-secret",
        "DATAVERSE_WEBHOOK_SECRETS": WEBHOOK_SECRET,
    }
    assert org.run("provision", env=env).code == 0
    outcome = org.run("register", "--url", HOOK, "--auth", "webhookkey", env=env)
    assert outcome.code == 0, outcome.err
    assert len(steps_of(org, endpoint(org)["serviceendpointid"])) == STEP_COUNT
    assert asked[0] == ("app-1", "https://login.microsoftonline.com/contoso-tenant", [f"{org.url}/.default"])


def test_duplicate_steps_and_images_left_by_an_interrupted_run_are_removed(provisioned: Org) -> None:
    assert provisioned.run("register", "--url", HOOK, "--auth", "header").code == 0
    registered = endpoint(provisioned)
    original = steps_of(provisioned, registered["serviceendpointid"])["Xero connector: Delete of invoice"]
    step_id = original["sdkmessageprocessingstepid"]
    duplicate = {
        "name": original["name"],
        "stage": 40,
        "mode": 1,
        "rank": 1,
        "asyncautodelete": True,
        "eventhandler_serviceendpoint@odata.bind": f"/serviceendpoints({registered['serviceendpointid']})",
        "sdkmessageid@odata.bind": f"/sdkmessages({original['_sdkmessageid_value']})",
        "sdkmessagefilterid@odata.bind": f"/sdkmessagefilters({original['_sdkmessagefilterid_value']})",
    }
    assert provisioned.session.post(provisioned.api + "sdkmessageprocessingsteps", json=duplicate).status_code == 204
    image = {
        "name": "copy",
        "entityalias": "PreImage",
        "imagetype": 0,
        "messagepropertyname": "Target",
        "attributes": "name",
        "sdkmessageprocessingstepid@odata.bind": f"/sdkmessageprocessingsteps({step_id})",
    }
    assert provisioned.session.post(provisioned.api + "sdkmessageprocessingstepimages", json=image).status_code == 204
    assert len(steps_of_all(provisioned)) == STEP_COUNT + 1

    outcome = provisioned.run("register", "--url", HOOK, "--auth", "header")
    assert outcome.code == 0, outcome.err
    assert "remove duplicate step 'Xero connector: Delete of invoice'" in outcome.out
    assert "remove duplicate image PreImage from 'Xero connector: Delete of invoice'" in outcome.out
    assert len(steps_of_all(provisioned)) == STEP_COUNT
    assert len(all_images(provisioned)) == IMAGE_COUNT
    assert "already up to date" in provisioned.run("register", "--url", HOOK, "--auth", "header").out


def steps_of_all(org: Org) -> list[dict[str, Any]]:
    return org.rows("sdkmessageprocessingsteps", **{"$filter": "startswith(name, 'Xero connector')"})


def test_a_filtering_list_changed_in_the_code_is_updated_in_place(
    provisioned: Org, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert provisioned.run("register", "--url", HOOK, "--auth", "header").code == 0
    before = steps_of_all(provisioned)
    narrower = tuple(
        dataclasses.replace(step, filtering_attributes=("name", "statecode", "statuscode", "xc_exportstatus"))
        if (step.table, step.message) == ("invoice", "Update")
        else step
        for step in desired_steps()
    )
    monkeypatch.setattr(register_module, "desired_steps", lambda: narrower)

    outcome = provisioned.run("register", "--url", HOOK, "--auth", "header")
    assert outcome.code == 0, outcome.err
    assert "update step 'Xero connector: Update of invoice': filteringattributes" in outcome.out
    assert "Registration: 1 change(s) made." in outcome.out
    after = {row["name"]: row for row in steps_of_all(provisioned)}
    invoice_update = after["Xero connector: Update of invoice"]
    assert invoice_update["filteringattributes"] == "name,statecode,statuscode,xc_exportstatus"
    assert {row["sdkmessageprocessingstepid"] for row in before} == {
        row["sdkmessageprocessingstepid"] for row in after.values()
    }


def test_status_on_a_fresh_org_says_provisioning_is_pending(org: Org) -> None:
    outcome = org.run("status")
    assert outcome.code == 0, outcome.err
    assert "change(s) pending: run `plugins_registration provision`" in outcome.out
    assert "No webhook endpoint is registered" in outcome.out
