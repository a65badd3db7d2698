import base64
import hashlib
import hmac

import pytest
from rq.job import Job

from app import create_app
from app.embedded_redis import free_port
from app.job_serializer import JobSerializer
from app.webhooks.xero import signature_matches
from app.xero_tenants import register_tenant
from tests.fixtures.loader import xero_body
from tests.helpers import settings_for

KEY = "xero-webhook-key-for-tests"
TENANT = "50bd1a8c-c1ab-5c70-b60f-cff4c56f618a"
INVOICE = "243216c5-369e-4056-ac67-05388f86dc81"


def sign(body: bytes, key: str = KEY) -> str:
    return base64.b64encode(hmac.new(key.encode(), body, hashlib.sha256).digest()).decode()


@pytest.fixture
def client(redis_url, redis_conn):
    register_tenant(redis_conn, TENANT, "connection-row-1")
    return create_app(settings_for(redis_url, xero_webhook_key=KEY)).test_client()


def post(client, body: bytes, signature: str | None):
    headers = {"x-xero-signature": signature} if signature is not None else {}
    return client.post("/webhooks/xero", data=body, headers=headers, content_type="application/json")


def test_known_signature_vector():
    # HMAC-SHA256 over the exact bytes, base64: a pretty-printed body is signed as sent, never re-serialised.
    body = b'{\n  "events": [],\n  "firstEventSequence": 0,\n  "lastEventSequence": 0,\n  "entropy": "ABC"\n}'
    expected = base64.b64encode(hmac.new(b"key", body, hashlib.sha256).digest()).decode()
    assert signature_matches(body, expected, "key")
    assert not signature_matches(body.replace(b"\n", b""), expected, "key")
    assert not signature_matches(body, expected, "other-key")
    assert not signature_matches(body, None, "key")
    assert not signature_matches(body, expected, "")


def test_intent_to_receive_correctly_signed_is_200_with_an_empty_body_and_no_cookies(client):
    body = xero_body("intent_to_receive")
    response = post(client, body, sign(body))
    assert response.status_code == 200
    assert response.data == b""
    assert "Set-Cookie" not in response.headers


def test_intent_to_receive_wrongly_signed_is_401_with_an_empty_body(client):
    body = xero_body("intent_to_receive")
    response = post(client, body, sign(body, "not-the-key"))
    assert response.status_code == 401
    assert response.data == b""


def test_missing_signature_is_401(client):
    assert post(client, xero_body("intent_to_receive"), None).status_code == 401


def test_no_key_configured_refuses_everything(redis_url):
    client = create_app(settings_for(redis_url)).test_client()
    body = xero_body("intent_to_receive")
    assert post(client, body, sign(body, "")).status_code == 401


def test_events_become_one_job_per_resource(client, redis_conn):
    body = xero_body("invoice_paid_twice_and_contact")
    response = post(client, body, sign(body))
    assert response.status_code == 200 and response.data == b""
    jobs = [
        Job.fetch(job_id, connection=redis_conn, serializer=JobSerializer)
        for job_id in client.application.extensions["connector.jobs"].queue("xero").job_ids
    ]
    assert sorted(job.args[0] for job in jobs) == ["xero.contact", "xero.invoice"]
    invoice_job = next(job for job in jobs if job.args[0] == "xero.invoice")
    assert invoice_job.args[1]["resource_id"] == INVOICE
    assert invoice_job.args[1]["connection_id"] == "connection-row-1"
    triggers = client.application.extensions["connector.jobs"].take_triggers(invoice_job.id)
    assert len(triggers) == 2, "both events for the invoice joined one job"


def test_a_redelivered_batch_joins_the_waiting_jobs(client):
    body = xero_body("invoice_paid_twice_and_contact")
    post(client, body, sign(body))
    post(client, body, sign(body))
    assert client.application.extensions["connector.jobs"].queue("xero").count == 2


def test_unknown_tenants_and_categories_are_ignored_and_logged(client, redis_conn, caplog):
    caplog.set_level("INFO")
    body = xero_body("subscription_update")
    assert post(client, body, sign(body)).status_code == 200
    foreign = xero_body("creditnote_created").replace(TENANT.encode(), b"11111111-2222-3333-4444-555555555555")
    assert post(client, foreign, sign(foreign)).status_code == 200
    assert client.application.extensions["connector.jobs"].queue("xero").count == 0
    assert "category not handled" in caplog.text and "unknown tenant" in caplog.text


def test_credit_note_events_are_queued(client):
    body = xero_body("creditnote_created")
    assert post(client, body, sign(body)).status_code == 200
    assert client.application.extensions["connector.jobs"].queue("xero").count == 1


@pytest.mark.parametrize(
    ("body", "named"),
    [
        (b"{not json", "not valid JSON"),
        (b'{"events": {}}', "'events' list"),
        (b'{"events": [{"resourceId": "x"}]}', "lacks eventCategory"),
        (b'{"events": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "nests deeper"),
    ],
)
def test_a_signed_but_malformed_body_is_400_naming_the_problem(client, body, named):
    response = post(client, body, sign(body))
    assert response.status_code == 400
    assert named in response.get_json()["error"]


def test_too_large_is_413(redis_url):
    client = create_app(settings_for(redis_url, xero_webhook_key=KEY, max_webhook_bytes=100)).test_client()
    body = xero_body("invoice_paid_twice_and_contact")
    assert post(client, body, sign(body)).status_code == 413


def test_redis_down_is_503_so_xero_retries(redis_url):
    client = create_app(settings_for(f"redis://127.0.0.1:{free_port()}/0", xero_webhook_key=KEY)).test_client()
    body = xero_body("creditnote_created")
    assert post(client, body, sign(body)).status_code == 503
