"""The loop guard knows the connector's own Dataverse user even when CONNECTOR_USER_ID is not set."""

import json

from cryptography.fernet import Fernet

from app import create_app
from app.connector_identity import connector_user, record_connector_user_from_dataverse, remember_connector_user
from app.services import forget_services
from sandbox.dataverse.seed import CONNECTOR_USER_ID, SANDBOX_CONNECTOR_TOKEN
from tests.fixtures.loader import dataverse_json
from tests.helpers import SECRET, settings_for

OTHER_USER = "11111111-2222-4333-8444-555555555555"


def test_the_configured_id_wins_over_the_recorded_one(redis_conn):
    remember_connector_user(redis_conn, OTHER_USER)
    assert connector_user("5c0e0a5e-0000-4000-8000-00000000c0de", redis_conn) == "5c0e0a5e-0000-4000-8000-00000000c0de"
    assert connector_user("", redis_conn) == OTHER_USER


def test_the_intake_ignores_the_recorded_users_writes_when_none_is_configured(redis_url, redis_conn):
    remember_connector_user(redis_conn, OTHER_USER)
    client = create_app(settings_for(redis_url, connector_user_id="")).test_client()
    document = dataverse_json("invoice_update_with_pre_and_post_images")
    document["InitiatingUserId"] = document["UserId"] = OTHER_USER
    response = client.post(f"/webhooks/dataverse?code={SECRET}", data=json.dumps(document))
    assert response.get_json() == {"status": "ignored", "reason": "change made by the connector itself"}


def test_a_worker_learns_the_user_from_dataverse(redis_conn, dataverse_sandbox, monkeypatch):
    monkeypatch.setenv("DATAVERSE_URL", dataverse_sandbox.url)
    monkeypatch.setenv("DATAVERSE_TOKEN", SANDBOX_CONNECTOR_TOKEN)
    monkeypatch.setenv("XERO_CLIENT_ID", "client")
    monkeypatch.setenv("XERO_CLIENT_SECRET", "secret")
    monkeypatch.setenv("TOKEN_ENCRYPTION_KEYS", Fernet.generate_key().decode())
    forget_services()
    try:
        assert record_connector_user_from_dataverse(redis_conn) == CONNECTOR_USER_ID
    finally:
        forget_services()
    assert connector_user("", redis_conn) == CONNECTOR_USER_ID


def test_an_unreachable_dataverse_does_not_stop_the_worker(redis_conn, monkeypatch, caplog):
    monkeypatch.setenv("DATAVERSE_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("DATAVERSE_TOKEN", "token")
    monkeypatch.setenv("XERO_CLIENT_ID", "client")
    monkeypatch.setenv("XERO_CLIENT_SECRET", "secret")
    monkeypatch.setenv("TOKEN_ENCRYPTION_KEYS", Fernet.generate_key().decode())
    monkeypatch.setenv("DATAVERSE_RETRY_BUDGET_SECONDS", "1")
    forget_services()
    try:
        assert record_connector_user_from_dataverse(redis_conn) is None
    finally:
        forget_services()
    assert "set CONNECTOR_USER_ID" in caplog.text
    assert connector_user("", redis_conn) == ""
