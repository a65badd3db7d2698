import json
import logging

import pytest
from rq import Queue
from rq.job import Job

from app import create_app
from app.dynamics_schema import INVOICE_EXPORT_STATUS, ExportStatus
from app.embedded_redis import free_port
from app.job_serializer import JobSerializer
from tests.fixtures.loader import dataverse_body, dataverse_json
from tests.helpers import CONNECTOR_USER, SECOND_SECRET, SECRET, settings_for

INVOICE_ID = "7d1f2a5c-8b3e-ef11-8409-000d3a4b7a1c"
URL = f"/webhooks/dataverse?code={SECRET}"


@pytest.fixture
def client(redis_url, redis_conn):
    app = create_app(settings_for(redis_url, max_webhook_bytes=64 * 1024))
    return app.test_client()


def dataverse_queue(redis_conn) -> Queue:
    return Queue("dataverse", connection=redis_conn, serializer=JobSerializer)


def post(client, name_or_body, url=URL, **kwargs):
    body = dataverse_body(name_or_body) if isinstance(name_or_body, str) else name_or_body
    return client.post(url, data=body, content_type="application/json", **kwargs)


def with_changes(name, *, operation_id, user=None, **attributes):
    document = dataverse_json(name)
    document["OperationId"] = operation_id
    if user:
        document["InitiatingUserId"] = document["UserId"] = user
    target = document["InputParameters"][0]["value"]
    for key, value in attributes.items():
        target["Attributes"].append({"key": key, "value": value})
    return json.dumps(document).encode()


# -- authentication -------------------------------------------------------------------------------------


def test_missing_key_is_401(client):
    response = post(client, "invoice_create_with_post_image", url="/webhooks/dataverse")
    assert response.status_code == 401
    assert response.get_json() == {"error": "missing or wrong webhook key"}


def test_wrong_key_is_401(client):
    assert post(client, "invoice_create_with_post_image", url="/webhooks/dataverse?code=nope").status_code == 401


def test_webhook_key_in_query_is_accepted(client):
    assert post(client, "invoice_create_with_post_image").status_code == 202


def test_http_header_auth_and_a_second_secret_for_rotation(client):
    response = post(
        client, "invoice_create_with_post_image", url="/webhooks/dataverse", headers={"x-connector-key": SECOND_SECRET}
    )
    assert response.status_code == 202


def test_a_header_other_than_the_configured_one_is_not_accepted(client):
    response = post(
        client, "invoice_create_with_post_image", url="/webhooks/dataverse", headers={"x-other-key": SECRET}
    )
    assert response.status_code == 401


def test_secret_never_appears_in_logs(client, caplog):
    caplog.set_level(logging.DEBUG)
    post(client, "invoice_create_with_post_image")
    post(client, b"{broken", url=URL)
    post(client, "invoice_create_with_post_image", url="/webhooks/dataverse?code=wrong-guess")
    assert caplog.records, "the requests above must have logged something"
    assert SECRET not in caplog.text
    assert "wrong-guess" not in caplog.text


# -- size and shape -------------------------------------------------------------------------------------


def test_body_over_the_limit_is_413(client):
    response = post(client, b"{" + b" " * (70 * 1024) + b"}")
    assert response.status_code == 413
    assert "larger than" in response.get_json()["error"]


def test_malformed_json_is_400_naming_the_problem(client):
    response = post(client, b'{"MessageName": ')
    assert response.status_code == 400
    assert "not valid JSON" in response.get_json()["error"]


def test_structurally_invalid_context_is_400_naming_the_field(client):
    document = dataverse_json("invoice_create_with_post_image")
    del document["PrimaryEntityId"]
    response = post(client, json.dumps(document).encode())
    assert response.status_code == 400
    assert "PrimaryEntityId" in response.get_json()["error"]


def test_body_sent_as_a_json_string_is_accepted(client):
    body = json.dumps(dataverse_body("invoice_create_with_post_image").decode()).encode()
    assert post(client, body).status_code == 202


# -- scope ----------------------------------------------------------------------------------------------


def test_other_tables_are_ignored_with_200_and_a_log_line(client, redis_conn, caplog):
    caplog.set_level(logging.INFO)
    response = post(client, "account_update_not_ours")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ignored", "reason": "table account is not handled"}
    assert "dataverse event ignored" in caplog.text
    assert dataverse_queue(redis_conn).count == 0


def test_other_messages_are_ignored(client, redis_conn):
    document = dataverse_json("invoice_create_with_post_image")
    document["MessageName"] = "Assign"
    response = post(client, json.dumps(document).encode())
    assert response.status_code == 200 and response.get_json()["status"] == "ignored"
    assert dataverse_queue(redis_conn).count == 0


def test_create_enqueues_a_sync_job_that_carries_only_ids(client, redis_conn):
    response = post(client, "invoice_create_with_post_image", headers={"x-ms-correlation-request-id": "corr-123"})
    assert response.status_code == 202
    body = response.get_json()
    assert body["status"] == "queued"
    job = Job.fetch(body["job_id"], connection=redis_conn, serializer=JobSerializer)
    kind, payload = job.args
    assert kind == "invoice.sync"
    assert payload == {
        "organization_id": "b2fe5e36-4ad1-ee11-9078-000d3a4b7a1c",
        "invoice_id": INVOICE_ID,
        "correlation_id": "corr-123",
    }
    assert dataverse_queue(redis_conn).job_ids == [job.id]


# -- exactly one piece of work per change ---------------------------------------------------------------


def test_redelivery_enqueues_nothing_new(client, redis_conn):
    first = post(client, "invoice_create_with_post_image").get_json()
    again = post(client, "invoice_create_with_post_image")
    assert again.status_code == 200
    assert again.get_json() == {"status": "duplicate", "job_id": first["job_id"]}
    assert dataverse_queue(redis_conn).count == 1


def test_events_for_a_waiting_invoice_coalesce_into_its_job(client, redis_conn):
    created = post(client, "invoice_create_with_post_image").get_json()
    updated = post(client, "invoice_update_with_pre_and_post_images").get_json()
    first_state = post(client, "invoice_update_state_change_first").get_json()
    second_state = post(client, "invoice_update_state_change_second").get_json()
    assert {updated["status"], first_state["status"], second_state["status"]} == {"coalesced"}
    assert updated["job_id"] == first_state["job_id"] == second_state["job_id"] == created["job_id"]
    assert dataverse_queue(redis_conn).count == 1


def test_a_delete_is_never_coalesced_and_keeps_its_pre_image(client, redis_conn):
    sync = post(client, "invoice_update_with_pre_and_post_images").get_json()
    delete = post(client, "invoice_delete_with_pre_image").get_json()
    assert delete["status"] == "queued" and delete["job_id"] != sync["job_id"]
    kind, payload = Job.fetch(delete["job_id"], connection=redis_conn, serializer=JobSerializer).args
    assert kind == "invoice.delete"
    assert payload["pre_image"]["xc_xeroinvoiceid"] == "243216c5-369e-4056-ac67-05388f86dc81"
    assert dataverse_queue(redis_conn).count == 2


def test_invoice_line_events_sync_their_parent_invoice(client, redis_conn):
    invoice = post(client, "invoice_create_with_post_image").get_json()
    line_created = post(client, "invoicedetail_create").get_json()
    line_deleted = post(client, "invoicedetail_delete_with_pre_image").get_json()
    assert line_created == {"status": "coalesced", "job_id": invoice["job_id"]}
    assert line_deleted == {"status": "coalesced", "job_id": invoice["job_id"]}


def test_invoice_line_without_a_known_parent_asks_the_worker_to_find_it(client, redis_conn):
    response = post(client, "invoicedetail_update_without_parent").get_json()
    kind, payload = Job.fetch(response["job_id"], connection=redis_conn, serializer=JobSerializer).args
    assert kind == "invoicedetail.resolve_parent"
    assert payload["line_id"] == "9e2b3c4d-8b3e-ef11-8409-000d3a4b7a1c"


def test_trimmed_oversize_context_still_enqueues_a_sync(client, redis_conn):
    response = post(client, "invoice_update_trimmed_oversize", headers={"x-ms-dynamics-msg-size-exceeded": "1"})
    assert response.status_code == 202
    kind, payload = Job.fetch(response.get_json()["job_id"], connection=redis_conn, serializer=JobSerializer).args
    assert (kind, payload["invoice_id"]) == ("invoice.sync", INVOICE_ID)


def test_connection_rows_go_to_the_maintenance_queue(client, redis_conn):
    response = post(client, "connection_create")
    assert response.status_code == 202
    job = Job.fetch(response.get_json()["job_id"], connection=redis_conn, serializer=JobSerializer)
    assert job.origin == "maintenance" and job.args[0] == "connection.changed"


# -- loop guard -----------------------------------------------------------------------------------------


def test_the_connectors_own_writes_are_ignored(client, redis_conn):
    body = with_changes(
        "invoice_update_with_pre_and_post_images",
        operation_id="11111111-0000-4000-8000-000000000001",
        user=CONNECTOR_USER,
        xc_xeroinvoicenumber="INV-0001",
    )
    response = post(client, body)
    assert response.status_code == 200
    assert response.get_json() == {"status": "ignored", "reason": "change made by the connector itself"}
    assert dataverse_queue(redis_conn).count == 0


def test_a_resync_request_is_accepted_even_from_the_connector_user(client, redis_conn):
    export_status = {
        "__type": "OptionSetValue:http://schemas.microsoft.com/xrm/2011/Contracts",
        "Value": int(ExportStatus.READY_TO_UPDATE),
    }
    body = with_changes(
        "invoice_update_with_pre_and_post_images",
        operation_id="11111111-0000-4000-8000-000000000002",
        user=CONNECTOR_USER,
        **{INVOICE_EXPORT_STATUS: export_status},
    )
    assert post(client, body).status_code == 202
    assert dataverse_queue(redis_conn).count == 1


# -- dependency down ------------------------------------------------------------------------------------


def test_redis_unreachable_is_503_so_dataverse_retries():
    app = create_app(settings_for(f"redis://127.0.0.1:{free_port()}/0"))
    response = app.test_client().post(URL, data=dataverse_body("invoice_create_with_post_image"))
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert response.get_json() == {"error": "queue unavailable, retry later"}


def test_unknown_paths_answer_json_not_html(client):
    response = client.get("/nowhere")
    assert response.status_code == 404
    assert "error" in response.get_json()
