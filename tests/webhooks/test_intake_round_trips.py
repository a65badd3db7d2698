"""The intake's Redis round trips: one per Dataverse event on the common path, a fixed few per Xero batch."""

from __future__ import annotations

import json
import uuid

from redis import Redis

from app import create_app
from app.connector_identity import remember_connector_user
from app.invoice_timeline import entries
from app.queue import job_queue
from app.xero_tenants import register_tenant
from tests.fixtures.loader import dataverse_json
from tests.helpers import CONNECTOR_USER, SECRET, settings_for
from tests.hostile_bodies import XERO_TENANT as TENANT
from tests.hostile_bodies import xero_signature

OTHER_INVOICE = "0c7f4b1e-8b3e-ef11-8409-000d3a4b7a1c"


class CountingRedis(Redis):
    """A real client that counts its round trips: single commands and pipelines."""

    round_trips = 0

    def execute_command(self, *args, **options):
        CountingRedis.round_trips += 1
        return super().execute_command(*args, **options)

    def pipeline(self, *args, **kwargs):
        CountingRedis.round_trips += 1
        return super().pipeline(*args, **kwargs)


def test_a_queued_coalesced_or_redelivered_event_costs_one_redis_command(redis_url, redis_conn):
    # Without CONNECTOR_USER_ID the intake reads the recorded one from Redis, at most every 30 s.
    remember_connector_user(redis_conn, CONNECTOR_USER)
    client = create_app(settings_for(redis_url, connector_user_id=""), redis=CountingRedis.from_url(redis_url))
    client = client.test_client()
    document = dataverse_json("invoice_update_with_pre_and_post_images")

    def post(operation: str, **changes: str) -> str:
        body = {**document, "OperationId": f"9d0e4a56-0000-4000-8000-000000000{operation}", **changes}
        response = client.post(f"/webhooks/dataverse?code={SECRET}", data=json.dumps(body))
        assert response.status_code in (200, 202), response.get_data(as_text=True)
        return response.get_json()["status"]

    assert post("001") == "queued"  # also loads the script and reads the connector user once
    for operation, changes, expected in (
        ("002", {}, "coalesced"),
        ("002", {}, "duplicate"),
        ("003", {"PrimaryEntityId": OTHER_INVOICE}, "queued"),
    ):
        before = CountingRedis.round_trips
        assert post(operation, **changes) == expected
        assert CountingRedis.round_trips - before == 1, expected

    # The same round trip put each event on its invoice's timeline, with what became of it.
    invoice = document["PrimaryEntityId"]
    assert [e["status"] for e in entries(redis_conn, invoice)] == ["queued", "coalesced", "duplicate"]
    assert [(e["message"], e["table"]) for e in entries(redis_conn, OTHER_INVOICE)] == [("Update", "invoice")]


def test_a_xero_batch_costs_the_same_few_round_trips_however_many_events_it_holds(redis_url, redis_conn):
    key = "xero-key-for-round-trips"
    register_tenant(redis_conn, TENANT, "connection-row-1")
    client = create_app(settings_for(redis_url, xero_webhook_key=key), redis=CountingRedis.from_url(redis_url))
    client = client.test_client()

    def post(resources: list[str]) -> int:
        events = [
            {"resourceId": r, "eventCategory": "INVOICE", "eventType": "UPDATE", "tenantId": TENANT} for r in resources
        ]
        body = json.dumps({"events": events}).encode()
        before = CountingRedis.round_trips
        response = client.post("/webhooks/xero", data=body, headers={"x-xero-signature": xero_signature(body, key)})
        assert response.status_code == 200
        return CountingRedis.round_trips - before

    post([str(uuid.uuid4())])  # loads the script
    one, five = post([str(uuid.uuid4())]), post([str(uuid.uuid4()) for _ in range(5)])
    assert one == five == 2, "the clock and tenants in one pipeline, every submission in another"
    assert job_queue("xero", redis_conn).count == 7
