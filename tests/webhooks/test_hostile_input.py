"""A small seeded fuzz of both webhooks through the app: no 5xx, no hang, no job from invalid input, and every
refusal a 4xx naming the problem. The full 10,000 + 10,000 over real HTTP: `python -m benchmarks.hostile`."""

from __future__ import annotations

import time

import pytest

from app import create_app
from app.queue import ALL_QUEUES, fetch_jobs, job_queue
from app.xero_tenants import register_tenant
from tests.helpers import SECRET, settings_for
from tests.hostile_bodies import XERO_TENANT, dataverse_bodies, invalid_job_payloads, xero_bodies, xero_signature

KEY = "xero-webhook-key-for-fuzzing"
BODIES = 1000
SLOWEST_SECONDS = 1.0  # a body that takes longer is hanging the worker


@pytest.fixture
def client(redis_url, redis_conn):
    register_tenant(redis_conn, XERO_TENANT, "connection-row-1")
    return create_app(settings_for(redis_url, xero_webhook_key=KEY, log_level="CRITICAL")).test_client()


def queued_payloads(redis_conn) -> list[dict]:
    payloads = []
    for name in ALL_QUEUES:
        payloads += [job.args[1] for job in fetch_jobs(job_queue(name, redis_conn).job_ids, redis_conn)]
    return payloads


def check(response, hostile, started: float, problems: list[str]) -> None:
    elapsed = time.perf_counter() - started
    status = response.status_code
    if status >= 500 or elapsed > SLOWEST_SECONDS:
        problems.append(f"{status} in {elapsed:.2f} s for {hostile.description}")
    elif status >= 400 and status != 401:
        error = (response.get_json(silent=True) or {}).get("error")
        if not error:
            problems.append(f"{status} without naming the problem for {hostile.description}")


def test_hostile_dataverse_bodies(client, redis_conn):
    problems: list[str] = []
    for hostile in dataverse_bodies(BODIES, seed=9):
        started = time.perf_counter()
        response = client.post(f"/webhooks/dataverse?code={SECRET}", data=hostile.body, content_type="application/json")
        check(response, hostile, started, problems)
    assert problems == []
    assert invalid_job_payloads(queued_payloads(redis_conn)) == []


def test_hostile_xero_bodies_signed_and_unsigned(client, redis_conn):
    problems: list[str] = []
    for index, hostile in enumerate(xero_bodies(BODIES, seed=10)):
        signed = index % 4 != 0
        headers = {"x-xero-signature": xero_signature(hostile.body, KEY)} if signed else {}
        started = time.perf_counter()
        response = client.post("/webhooks/xero", data=hostile.body, headers=headers, content_type="application/json")
        check(response, hostile, started, problems)
        if not signed and response.status_code != 401:
            problems.append(f"unsigned body answered {response.status_code}: {hostile.description}")
    assert problems == []
    assert invalid_job_payloads(queued_payloads(redis_conn)) == []
