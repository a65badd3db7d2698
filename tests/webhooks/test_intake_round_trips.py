"""The intake of a Dataverse event costs one Redis command (one round trip) on the common path."""

from __future__ import annotations

import json

from redis import Redis

from app import create_app
from app.connector_identity import remember_connector_user
from tests.fixtures.loader import dataverse_json
from tests.helpers import CONNECTOR_USER, SECRET, settings_for

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
