"""Webhook firing follows what is registered: steps, filters, images, auth, retries and system jobs."""

from __future__ import annotations

from typing import Any

import requests

from sandbox.dataverse.seed import ACCOUNT_IDS, CONNECTOR_USER_ID, ORGANIZATION_ID, PERSON_USER_ID, SANDBOX_PERSON_TOKEN
from sandbox.dataverse.server import RunningDataverse
from tests.sandbox.dataverse.helpers import created_id
from tests.sandbox.dataverse.receiver import Receiver
from tests.sandbox.dataverse.registering import add_endpoint, register

CONTRACTS = "http://schemas.microsoft.com/xrm/2011/Contracts"


def kv(pairs: list[dict[str, Any]]) -> dict[str, Any]:
    return {p["key"]: p["value"] for p in pairs}


def settle(sandbox: RunningDataverse) -> None:
    assert sandbox.wait_for_webhooks(timeout=20)


def job(session: requests.Session, api: str, operation_id: str) -> dict[str, Any]:
    response = session.get(api + f"asyncoperations({operation_id})")
    assert response.status_code == 200, response.text
    return response.json()


def test_create_fires_a_real_shaped_context(
    dataverse_sandbox: RunningDataverse, dataverse_session: requests.Session, api: str, receiver: Receiver
) -> None:
    reg = register(dataverse_session, api, receiver.url, "Create", "account", images=(("created", 1, None),))
    account_id = created_id(
        dataverse_session.post(
            api + "accounts",
            json={
                "name": "Globex",
                "telephone1": "0123",
                "primarycontactid@odata.bind": "/contacts(5c0e0a5e-0000-4000-8000-000000000501)",
            },
        )
    )
    settle(dataverse_sandbox)

    assert len(receiver.calls) == 1
    call = receiver.calls[0]
    assert b'"__type":"Entity:http:\\/\\/schemas.microsoft.com\\/xrm\\/2011\\/Contracts"' in call.body
    assert call.query["code"] == ["webhook-secret"]
    assert call.header("x-ms-dynamics-organization") == "sandbox.crm.dynamics.com"
    assert call.header("x-ms-dynamics-entity-name") == "account"
    assert call.header("x-ms-dynamics-request-name") == "Create"
    assert call.header("x-ms-correlation-request-id")
    assert call.header("x-ms-dynamics-msg-size-exceeded") is None
    ctx = call.context
    assert (ctx["MessageName"], ctx["Stage"], ctx["Mode"], ctx["Depth"]) == ("Create", 40, 1, 1)
    assert ctx["PrimaryEntityName"] == "account" and ctx["PrimaryEntityId"] == account_id
    assert ctx["InitiatingUserId"] == ctx["UserId"] == CONNECTOR_USER_ID
    assert ctx["OrganizationId"] == ORGANIZATION_ID
    assert ctx["OwningExtension"]["Id"] == reg.step_id
    assert ctx["OperationCreatedOn"].startswith("/Date(")
    assert ctx["ParentContext"]["Stage"] == 30
    assert kv(ctx["OutputParameters"]) == {"id": account_id}
    target = kv(ctx["InputParameters"])["Target"]
    assert target["__type"] == f"Entity:{CONTRACTS}"
    attributes = kv(target["Attributes"])
    assert attributes["name"] == "Globex"
    assert attributes["statecode"] == {"__type": f"OptionSetValue:{CONTRACTS}", "Value": 0}
    assert attributes["createdon"].startswith("/Date(")
    assert attributes["ownerid"]["__type"] == f"EntityReference:{CONTRACTS}"
    assert attributes["ownerid"]["Id"] == CONNECTOR_USER_ID
    assert attributes["primarycontactid"]["LogicalName"] == "contact"
    assert kv(target["FormattedValues"])["statecode"] == "Active"
    posts = kv(ctx["PostEntityImages"])
    assert set(posts) == {"created", "AsynchronousStepPrimaryName"}
    assert "__type" not in posts["created"]
    assert set(kv(posts["AsynchronousStepPrimaryName"]["Attributes"])) == {"name", "accountid"}
    system_job = job(dataverse_session, api, ctx["OperationId"])
    assert system_job["statuscode"] == 30
    assert system_job["_owningextensionid_value"] == reg.step_id


def test_update_target_holds_only_changed_columns_and_filtering_attributes_apply(
    dataverse_sandbox: RunningDataverse, dataverse_session: requests.Session, api: str, receiver: Receiver
) -> None:
    register(dataverse_session, api, receiver.url, "Update", "account", filtering="telephone1,emailaddress1")
    account = f"accounts({ACCOUNT_IDS[1]})"
    assert dataverse_session.patch(api + account, json={"name": "Fabrikam Group"}).status_code == 204
    settle(dataverse_sandbox)
    assert receiver.calls == []

    assert dataverse_session.patch(api + account, json={"telephone1": "555-0100"}).status_code == 204
    settle(dataverse_sandbox)
    assert len(receiver.calls) == 1
    target = kv(receiver.calls[0].context["InputParameters"])["Target"]
    assert set(kv(target["Attributes"])) == {"telephone1", "accountid", "modifiedon", "modifiedby"}


def test_registered_images_follow_their_attributes_and_aliases(
    dataverse_sandbox: RunningDataverse,
    dataverse_session: requests.Session,
    api: str,
    receiver: Receiver,
    invoice_id: str,
) -> None:
    register(
        dataverse_session,
        api,
        receiver.url,
        "Update",
        "invoice",
        images=(("before", 0, "name,totalamount"), ("after", 1, "name,totalamount,customerid"), ("whole", 2, None)),
    )
    dataverse_session.patch(api + f"invoices({invoice_id})", json={"name": "Website build (phase 1)"})
    settle(dataverse_sandbox)
    ctx = receiver.calls[0].context
    pre, post = kv(ctx["PreEntityImages"]), kv(ctx["PostEntityImages"])
    assert set(pre) == {"before", "whole"}
    assert set(post) == {"after", "whole", "AsynchronousStepPrimaryName"}
    assert kv(pre["before"]["Attributes"]) == {
        "name": "Website build",
        "totalamount": {"__type": f"Money:{CONTRACTS}", "Value": 25.0},
    }
    after = kv(post["after"]["Attributes"])
    assert after["name"] == "Website build (phase 1)"
    assert after["customerid"]["LogicalName"] == "account"
    assert after["customerid"]["Name"] == "Contoso Ltd"
    assert kv(post["after"]["FormattedValues"])["totalamount"] == "£25.00"
    assert "invoicenumber" in kv(post["whole"]["Attributes"])


def test_delete_sends_an_entity_reference_and_the_pre_image(
    dataverse_sandbox: RunningDataverse,
    dataverse_session: requests.Session,
    api: str,
    receiver: Receiver,
    invoice_id: str,
) -> None:
    register(
        dataverse_session,
        api,
        receiver.url,
        "Delete",
        "invoice",
        images=(("deleted", 0, "name,invoicenumber,totalamount"),),
    )
    assert dataverse_session.delete(api + f"invoices({invoice_id})").status_code == 204
    settle(dataverse_sandbox)
    assert len(receiver.calls) == 1
    ctx = receiver.calls[0].context
    target = kv(ctx["InputParameters"])["Target"]
    assert target["__type"] == f"EntityReference:{CONTRACTS}"
    assert (target["Id"], target["LogicalName"]) == (invoice_id, "invoice")
    image = kv(kv(ctx["PreEntityImages"])["deleted"]["Attributes"])
    assert image["name"] == "Website build"
    assert image["invoicenumber"].startswith("INV-")
    assert ctx["PostEntityImages"] == []


def test_state_change_with_other_columns_fires_update_twice(
    dataverse_sandbox: RunningDataverse,
    dataverse_session: requests.Session,
    api: str,
    receiver: Receiver,
    invoice_id: str,
) -> None:
    register(dataverse_session, api, receiver.url, "Update", "invoice")
    response = dataverse_session.patch(
        api + f"invoices({invoice_id})", json={"description": "Billed in full", "statecode": 0, "statuscode": 4}
    )
    assert response.status_code == 204
    settle(dataverse_sandbox)
    targets = [set(kv(kv(c.context["InputParameters"])["Target"]["Attributes"])) for c in receiver.calls]
    assert len(targets) == 2
    assert "description" in targets[0] and "statecode" not in targets[0]
    assert {"statecode", "statuscode"} <= targets[1] and "description" not in targets[1]


def test_contexts_above_256_kb_are_trimmed(
    dataverse_sandbox: RunningDataverse, dataverse_session: requests.Session, api: str, receiver: Receiver
) -> None:
    attribute = {
        "@odata.type": "Microsoft.Dynamics.CRM.MemoAttributeMetadata",
        "SchemaName": "xc_Notes",
        "DisplayName": {"LocalizedLabels": [{"Label": "Notes", "LanguageCode": 1033}]},
        "MaxLength": 1048576,
    }
    created = dataverse_session.post(api + "EntityDefinitions(LogicalName='account')/Attributes", json=attribute)
    assert created.status_code == 204, created.text
    register(dataverse_session, api, receiver.url, "Update", "account", images=(("before", 0, None),))
    dataverse_session.patch(api + f"accounts({ACCOUNT_IDS[0]})", json={"xc_notes": "x" * 300_000})
    settle(dataverse_sandbox)
    call = receiver.calls[0]
    assert call.header("x-ms-dynamics-msg-size-exceeded") is not None
    assert len(call.body) < 256 * 1024
    ctx = call.context
    for removed in ("ParentContext", "InputParameters", "PreEntityImages", "PostEntityImages"):
        assert removed not in ctx
    assert ctx["PrimaryEntityId"] == ACCOUNT_IDS[0]


def test_http_header_and_query_string_authentication(
    dataverse_sandbox: RunningDataverse, dataverse_session: requests.Session, api: str, receiver: Receiver
) -> None:
    register(
        dataverse_session,
        api,
        receiver.url,
        "Update",
        "contact",
        authtype=5,
        authvalue='<settings><setting name="X-Connector-Key" value="k&amp;1" /></settings>',
    )
    register(
        dataverse_session,
        api,
        receiver.url + "?tenant=a",
        "Update",
        "contact",
        authtype=6,
        authvalue='<settings><setting name="key" value="q1" /><setting name="env" value="test" /></settings>',
    )
    dataverse_session.patch(api + "contacts(5c0e0a5e-0000-4000-8000-000000000502)", json={"jobtitle": "CFO"})
    settle(dataverse_sandbox)
    assert len(receiver.calls) == 2
    by_header = next(c for c in receiver.calls if c.header("X-Connector-Key"))
    assert by_header.header("X-Connector-Key") == "k&1"
    assert "code" not in by_header.query
    by_query = next(c for c in receiver.calls if "key" in c.query)
    assert by_query.query == {"tenant": ["a"], "key": ["q1"], "env": ["test"]}


def test_one_retry_after_503_then_success(
    dataverse_sandbox: RunningDataverse, dataverse_session: requests.Session, api: str, receiver: Receiver
) -> None:
    register(dataverse_session, api, receiver.url, "Update", "account")
    receiver.statuses.extend([503, 200])
    dataverse_session.patch(api + f"accounts({ACCOUNT_IDS[2]})", json={"telephone1": "1"})
    settle(dataverse_sandbox)
    assert len(receiver.calls) == 2
    assert receiver.calls[0].body == receiver.calls[1].body
    delivery = dataverse_sandbox.deliveries()[-1]
    assert delivery["attempts"] == [503, 200]
    assert job(dataverse_session, api, delivery["asyncoperationid"])["statuscode"] == 30


def test_failures_are_not_retried_except_once_for_gateway_errors(
    dataverse_sandbox: RunningDataverse, dataverse_session: requests.Session, api: str, receiver: Receiver
) -> None:
    register(dataverse_session, api, receiver.url, "Update", "account")
    receiver.statuses.extend([500, 504, 502])
    dataverse_session.patch(api + f"accounts({ACCOUNT_IDS[2]})", json={"telephone1": "1"})
    dataverse_session.patch(api + f"accounts({ACCOUNT_IDS[2]})", json={"telephone1": "2"})
    settle(dataverse_sandbox)
    assert len(receiver.calls) == 3
    first, second = dataverse_sandbox.deliveries()[-2:]
    assert (first["attempts"], second["attempts"]) == ([500], [504, 502])
    for delivery in (first, second):
        failed = job(dataverse_session, api, delivery["asyncoperationid"])
        assert (failed["statecode"], failed["statuscode"]) == (3, 31)
        assert "HTTP status" in failed["message"]
    failed_jobs = dataverse_session.get(api + "asyncoperations", params={"$filter": "statuscode eq 31"}).json()
    assert len(failed_jobs["value"]) == 2


def test_no_firing_once_the_step_is_disabled_or_deleted(
    dataverse_sandbox: RunningDataverse, dataverse_session: requests.Session, api: str, receiver: Receiver
) -> None:
    reg = register(dataverse_session, api, receiver.url, "Update", "account")
    step = api + f"sdkmessageprocessingsteps({reg.step_id})"
    account = api + f"accounts({ACCOUNT_IDS[0]})"
    assert dataverse_session.patch(step, json={"statecode": 1, "statuscode": 2}).status_code == 204
    dataverse_session.patch(account, json={"telephone1": "1"})
    settle(dataverse_sandbox)
    assert receiver.calls == []

    dataverse_session.patch(step, json={"statecode": 0, "statuscode": 1})
    dataverse_session.patch(account, json={"telephone1": "2"})
    settle(dataverse_sandbox)
    assert len(receiver.calls) == 1

    assert dataverse_session.delete(step).status_code == 204
    dataverse_session.patch(account, json={"telephone1": "3"})
    settle(dataverse_sandbox)
    assert len(receiver.calls) == 1


def test_deleting_the_endpoint_removes_its_steps(
    dataverse_sandbox: RunningDataverse, dataverse_session: requests.Session, api: str, receiver: Receiver
) -> None:
    reg = register(dataverse_session, api, receiver.url, "Update", "account", images=(("pre", 0, "name"),))
    assert dataverse_session.delete(api + f"serviceendpoints({reg.endpoint_id})").status_code == 204
    assert dataverse_session.get(api + f"sdkmessageprocessingsteps({reg.step_id})").status_code == 404
    assert dataverse_session.get(api + f"sdkmessageprocessingstepimages({reg.image_ids[0]})").status_code == 404
    dataverse_session.patch(api + f"accounts({ACCOUNT_IDS[0]})", json={"telephone1": "1"})
    settle(dataverse_sandbox)
    assert receiver.calls == []


def test_initiating_user_is_the_caller(
    dataverse_sandbox: RunningDataverse, dataverse_session: requests.Session, api: str, receiver: Receiver
) -> None:
    register(dataverse_session, api, receiver.url, "Update", "account")
    person = requests.patch(
        api + f"accounts({ACCOUNT_IDS[0]})",
        json={"telephone1": "9"},
        timeout=5,
        headers={"Authorization": f"Bearer {SANDBOX_PERSON_TOKEN}"},
    )
    assert person.status_code == 204
    settle(dataverse_sandbox)
    ctx = receiver.calls[0].context
    assert ctx["InitiatingUserId"] == ctx["UserId"] == PERSON_USER_ID


def test_successful_jobs_of_auto_delete_steps_disappear(
    dataverse_sandbox: RunningDataverse, dataverse_session: requests.Session, api: str, receiver: Receiver
) -> None:
    register(dataverse_session, api, receiver.url, "Update", "account", asyncautodelete=True)
    dataverse_session.patch(api + f"accounts({ACCOUNT_IDS[0]})", json={"telephone1": "1"})
    settle(dataverse_sandbox)
    delivery = dataverse_sandbox.deliveries()[-1]
    assert delivery["status"] == "succeeded"
    assert dataverse_session.get(api + f"asyncoperations({delivery['asyncoperationid']})").status_code == 404


def test_registration_rules(dataverse_session: requests.Session, api: str, receiver: Receiver) -> None:
    far_port = dataverse_session.post(
        api + "serviceendpoints",
        json={"name": "x", "url": "https://hooks.example.com:8443/x", "contract": 8, "authtype": 4, "authvalue": "s"},
    )
    assert far_port.status_code == 400
    assert "ports 80 and 443" in far_port.json()["error"]["message"]
    endpoint_id = add_endpoint(dataverse_session, api, receiver.url)
    endpoint = dataverse_session.get(api + f"serviceendpoints({endpoint_id})").json()
    assert "authvalue" not in endpoint
    assert endpoint["contract"] == 8
    person = requests.post(
        api + "serviceendpoints",
        timeout=5,
        json={"name": "x", "url": receiver.url, "contract": 8, "authtype": 4, "authvalue": "s"},
        headers={"Authorization": f"Bearer {SANDBOX_PERSON_TOKEN}"},
    )
    assert person.status_code == 403
    assert "missing prvCreateServiceEndpoint privilege" in person.json()["error"]["message"]


def test_bypass_headers(
    dataverse_sandbox: RunningDataverse, dataverse_session: requests.Session, api: str, receiver: Receiver
) -> None:
    register(dataverse_session, api, receiver.url, "Update", "account")
    account = api + f"accounts({ACCOUNT_IDS[0]})"
    # Synchronous-only bypass leaves asynchronous webhooks alone; CustomAsync skips them.
    dataverse_session.patch(account, json={"telephone1": "1"}, headers={"MSCRM.BypassCustomPluginExecution": "true"})
    dataverse_session.patch(
        account, json={"telephone1": "2"}, headers={"MSCRM.BypassBusinessLogicExecution": "CustomAsync"}
    )
    settle(dataverse_sandbox)
    assert len(receiver.calls) == 1
    person = requests.patch(
        account,
        json={"telephone1": "3"},
        timeout=5,
        headers={
            "Authorization": f"Bearer {SANDBOX_PERSON_TOKEN}",
            "MSCRM.BypassBusinessLogicExecution": "CustomAsync",
        },
    )
    assert person.status_code == 403


def test_each_delivery_is_its_own_system_job_and_tag_is_shared(
    dataverse_sandbox: RunningDataverse, dataverse_session: requests.Session, api: str, receiver: Receiver
) -> None:
    register(dataverse_session, api, receiver.url, "Update", "account")
    dataverse_session.patch(api + f"accounts({ACCOUNT_IDS[0]})?tag=from-xero", json={"telephone1": "1"})
    dataverse_session.patch(api + f"accounts({ACCOUNT_IDS[0]})", json={"telephone1": "2"})
    settle(dataverse_sandbox)
    first, second = (c.context for c in receiver.calls)
    assert first["OperationId"] != second["OperationId"]
    assert first["CorrelationId"] != second["CorrelationId"]
    assert kv(first["SharedVariables"]) == {"tag": "from-xero"}
    assert second["SharedVariables"] == []
    jobs = dataverse_session.get(
        api + "asyncoperations",
        params={"$filter": f"_regardingobjectid_value eq {ACCOUNT_IDS[0]} and statuscode eq 30"},
    ).json()["value"]
    assert {j["asyncoperationid"] for j in jobs} == {first["OperationId"], second["OperationId"]}


def test_line_changes_fire_for_the_line_and_its_recalculated_invoice(
    dataverse_sandbox: RunningDataverse,
    dataverse_session: requests.Session,
    api: str,
    receiver: Receiver,
    invoice_id: str,
) -> None:
    register(dataverse_session, api, receiver.url, "Update", "invoice", filtering="totalamount")
    register(dataverse_session, api, receiver.url, "Delete", "invoicedetail", images=(("line", 0, "invoiceid"),))
    line = dataverse_session.get(api + f"invoices({invoice_id})/invoice_details").json()["value"][0]
    dataverse_session.delete(api + f"invoicedetails({line['invoicedetailid']})")
    settle(dataverse_sandbox)
    by_name = {c.header("x-ms-dynamics-entity-name"): c.context for c in receiver.calls}
    assert set(by_name) == {"invoice", "invoicedetail"}
    deleted_line = kv(kv(by_name["invoicedetail"]["PreEntityImages"])["line"]["Attributes"])
    assert deleted_line["invoiceid"]["Id"] == invoice_id
    recalculated = kv(kv(by_name["invoice"]["InputParameters"])["Target"]["Attributes"])
    assert recalculated["totalamount"]["Value"] == 0
    assert by_name["invoice"]["Depth"] == 2


def test_synchronous_steps_run_in_the_transaction_and_roll_back_on_failure(
    dataverse_session: requests.Session, api: str, receiver: Receiver
) -> None:
    register(dataverse_session, api, receiver.url, "Update", "account", mode=0)
    account = api + f"accounts({ACCOUNT_IDS[0]})"
    receiver.statuses.append(500)
    refused = dataverse_session.patch(account, json={"telephone1": "refused"})
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "0x80040265"
    assert dataverse_session.get(account + "?$select=telephone1").json()["telephone1"] is None
    accepted = dataverse_session.patch(account, json={"telephone1": "accepted"})
    assert accepted.status_code == 204
    assert len(receiver.calls) == 2  # already delivered when the write answered
    ctx = receiver.calls[1].context
    assert (ctx["Mode"], ctx["Stage"], ctx["ParentContext"], ctx["IsInTransaction"]) == (0, 40, None, True)
    assert kv(ctx["PostEntityImages"]) == {}
    assert dataverse_session.get(api + "asyncoperations").json()["value"] == []
