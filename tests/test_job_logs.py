"""What a person reads in the worker's log: each job's start and outcome with what it is about and the
correlation id of the webhook that caused it; a failure a person must fix as one WARNING line."""

from __future__ import annotations

import logging

import pytest
from rq import SimpleWorker

from app import create_app
from app.job_serializer import JobSerializer
from app.logs import set_correlation_id
from app.queue import ALL_QUEUES
from app.worker import ClassifiedFailures
from app.xero_tenants import register_tenant
from tests.fixtures.loader import xero_body
from tests.helpers import settings_for
from tests.test_dispatch import jobs, probe  # noqa: F401 - the fixture is reused
from tests.webhooks.test_xero_endpoint import KEY, TENANT, sign


class Worker(ClassifiedFailures, SimpleWorker):
    pass


def work(jobs) -> None:  # noqa: F811
    Worker([jobs.queue(name) for name in ALL_QUEUES], connection=jobs.redis, serializer=JobSerializer).work(burst=True)


def records(caplog, message: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.getMessage() == message]


def test_a_xero_webhooks_job_logs_its_correlation_id_and_subject(jobs, redis_url, redis_conn, caplog):  # noqa: F811
    caplog.set_level(logging.INFO)
    register_tenant(redis_conn, TENANT, "connection-row-1")
    client = create_app(settings_for(redis_url, xero_webhook_key=KEY), redis=redis_conn).test_client()
    body = xero_body("creditnote_created")
    assert client.post("/webhooks/xero", data=body, headers={"x-xero-signature": sign(body)}).status_code == 200
    [accepted] = records(caplog, "xero event accepted")
    assert accepted.correlation_id

    work(jobs)
    [started] = records(caplog, "job started")
    [finished] = records(caplog, "job finished")
    for line in (started, finished):
        assert line.correlation_id == accepted.correlation_id
        assert line.kind == "xero.creditnote" and line.connection_id == "connection-row-1"
        assert line.resource_id and line.tenant_id == TENANT
    assert started.joined == [accepted.correlation_id]
    assert finished.outcome == "done"


@pytest.mark.parametrize("behaviour", ["permanent", "connection_lost"])
def test_a_failure_a_person_must_fix_is_one_warning_line_without_a_traceback(jobs, caplog, behaviour):  # noqa: F811
    caplog.set_level(logging.INFO)
    probe(jobs, behaviour=behaviour, correlation_id="corr-1")
    work(jobs)
    problems = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(problems) == 1, [r.getMessage() for r in problems]
    [failed] = problems
    assert failed.levelno == logging.WARNING and failed.getMessage() == "job failed"
    assert failed.exc_info is None and failed.correlation_id == "corr-1"
    assert failed.invoice_id and failed.reason


def test_an_unexpected_error_keeps_its_traceback(jobs, caplog):  # noqa: F811
    caplog.set_level(logging.INFO)
    probe(jobs, behaviour="crash")
    work(jobs)
    [crash] = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert crash.exc_info is not None and crash.getMessage() == "job raised an unexpected error"


def test_work_queued_while_handling_an_event_logs_under_its_correlation_id(jobs, caplog):  # noqa: F811
    caplog.set_level(logging.INFO)
    set_correlation_id("corr-of-the-reconciliation")
    try:
        jobs.submit("dataverse", "probe", {"invoice_id": "7d1f2a5c-8b3e-ef11-8409-000d3a4b7a1c"})
    finally:
        set_correlation_id(None)
    work(jobs)
    [started] = records(caplog, "job started")
    assert started.correlation_id == "corr-of-the-reconciliation"
