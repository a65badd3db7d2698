"""The `xero.token_refresh` job against the sandbox identity server, whose clock the tests move forward."""

from __future__ import annotations

import dataclasses
import time

import pytest
import requests
from rq import SimpleWorker
from rq.job import Job

from app import dispatch, schedule
from app import dynamics_schema as schema
from app.config import settings_or_defaults
from app.dynamics_schema import ConnectionStatus, SyncStatus
from app.job_serializer import JobSerializer
from app.queue import ALL_QUEUES, QUEUE_MAINTENANCE, JobQueue
from app.services import services_for
from handlers.xero_tokens_refresh import KIND, periodic, refresh_connections
from sandbox.xero.seed import TENANT_A_ID, TENANT_B_ID
from tests.helpers import settings_env, settings_for
from tests.xero_connect.conftest import consent

DAY = 24 * 3600
WEEK = 7 * DAY


def connect(connector, dynamics, tenant_id: str) -> str:
    path, params = consent(connector.client, tenant_id)
    assert connector.client.get(path, query_string=params).status_code == 200
    return next(
        row[schema.CONNECTION_ID]
        for row in dynamics.connections()
        if row[schema.CONNECTION_XERO_TENANT_ID] == tenant_id
    )


def services(connector):
    return services_for(connector.redis)


def refresh_with(xero_sandbox, refresh_token: str) -> dict:
    settings = xero_sandbox.settings
    return requests.post(
        f"{xero_sandbox.url}/connect/token",
        auth=(settings.client_id, settings.client_secret),
        data={"grant_type": "refresh_token", "refresh_token": refresh_token},
        timeout=10,
    ).json()


def test_a_token_younger_than_the_threshold_is_left_alone(connector, dynamics):
    connection_id = connect(connector, dynamics, TENANT_A_ID)
    before = connector.tokens.load(connection_id)

    report = refresh_connections(services(connector), older_than=WEEK)

    assert report.fresh_enough == [connection_id]
    assert report.refreshed == []
    assert connector.tokens.load(connection_id) == before


def test_refreshing_keeps_an_idle_connection_alive_past_sixty_days(connector, dynamics, xero_sandbox, xero_admin):
    connection_id = connect(connector, dynamics, TENANT_A_ID)
    first = connector.tokens.load(connection_id)
    unattended = xero_admin.mint_token([TENANT_B_ID])  # a consent nobody refreshes, for comparison

    xero_admin.advance_clock(50 * DAY)
    report = refresh_connections(services(connector), older_than=WEEK, now=time.time() + 8 * DAY)
    second = connector.tokens.load(connection_id)
    xero_admin.advance_clock(30 * DAY)  # 80 days after the consent, 30 after the refresh
    again = refresh_connections(services(connector), older_than=WEEK, now=time.time() + 16 * DAY)

    assert report.refreshed == [connection_id]
    assert second.refresh_token != first.refresh_token
    assert again.refreshed == [connection_id], "the refreshed token outlived the original's 60 days"
    organisation = services(connector).xero.get(connection_id, TENANT_A_ID).get_organisation()
    assert organisation.short_code == "!SbxA1"
    assert refresh_with(xero_sandbox, unattended["refresh_token"]) == {"error": "invalid_grant"}
    assert dynamics.connection(connection_id)[schema.CONNECTION_STATUS] == ConnectionStatus.CONNECTED


def test_invalid_grant_flags_the_row_reconnect_xero_and_the_others_carry_on(connector, dynamics, xero_sandbox):
    revoked = connect(connector, dynamics, TENANT_A_ID)
    healthy = connect(connector, dynamics, TENANT_B_ID)
    settings = xero_sandbox.settings
    requests.post(
        f"{xero_sandbox.url}/connect/revocation",
        auth=(settings.client_id, settings.client_secret),
        data={"token": connector.tokens.load(revoked).refresh_token},
        timeout=10,
    ).raise_for_status()

    report = refresh_connections(services(connector), older_than=WEEK, now=time.time() + 8 * DAY)

    assert report.reconnect == [revoked]
    assert report.refreshed == [healthy]
    row = dynamics.connection(revoked)
    assert row[schema.CONNECTION_STATUS] == ConnectionStatus.RECONNECT_XERO
    assert "invalid_grant" in row[schema.CONNECTION_STATUS_MESSAGE]
    assert row[schema.CONNECTION_STATUS_MESSAGE].startswith("Reconnect Xero:")
    assert dynamics.connection(healthy)[schema.CONNECTION_STATUS] == ConnectionStatus.CONNECTED
    note = dynamics.history(revoked)[-1]
    assert note[schema.SYNC_HISTORY_STATUS] == SyncStatus.FAILED
    assert note[schema.SYNC_HISTORY_DETAILS].startswith("Reconnect Xero: Xero refused to renew")
    second = refresh_connections(services(connector), older_than=WEEK, now=time.time() + 8 * DAY)
    assert revoked not in second.reconnect + second.refreshed, "a flagged row is no longer refreshed"


def test_custom_connections_have_nothing_to_refresh(make_connector, dynamics):
    from tests.xero_connect.conftest import ADMIN, custom_env

    connector = make_connector(**custom_env())
    assert connector.client.post("/xero/connect", headers=ADMIN).status_code == 200
    [row] = dynamics.connections()
    report = refresh_connections(services(connector), older_than=WEEK, now=time.time() + 8 * DAY)
    assert report.no_refresh_token == [row[schema.CONNECTION_ID]]


def test_the_job_runs_through_the_queue(connector, dynamics, redis_url, monkeypatch):
    connection_id = connect(connector, dynamics, TENANT_A_ID)
    stored = connector.tokens.load(connection_id)
    # Make the stored set look eight days old (its access token's expiry is how the job tells its age).
    connector.tokens.save(connection_id, dataclasses.replace(stored, expires_at=time.time() - 8 * DAY + 1800))
    for name, value in settings_env(redis_url).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(dispatch, "_environment", None)
    jobs = JobQueue(connector.redis, settings_for(redis_url))
    jobs.queue(QUEUE_MAINTENANCE).empty()  # the reference-data import the connection queued is not under test

    queued = jobs.submit(QUEUE_MAINTENANCE, KIND, {})
    SimpleWorker([jobs.queue(name) for name in ALL_QUEUES], connection=connector.redis, serializer=JobSerializer).work(
        burst=True
    )

    result = Job.fetch(queued.job_id, connection=connector.redis, serializer=JobSerializer).return_value()
    assert result["outcome"] == "done"
    assert result["refreshed"] == [connection_id]
    assert connector.tokens.load(connection_id).refresh_token != stored.refresh_token


@pytest.mark.parametrize(("value", "interval"), [(None, 12 * 3600), ("3600", 3600), ("soon", 12 * 3600)])
def test_the_schedule_entry_takes_its_interval_from_the_setting(value, interval):
    # An invalid value falls back to the default at import; the scheduler's start-up check names it.
    entry = periodic(settings_or_defaults({} if value is None else {"XERO_TOKEN_REFRESH_INTERVAL_SECONDS": value}))
    assert (entry.kind, entry.queue, entry.interval_seconds) == (KIND, QUEUE_MAINTENANCE, interval)
    assert KIND in dispatch.HANDLERS
    assert any(p.kind == KIND for p in schedule.PERIODIC)
