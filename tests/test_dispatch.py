"""app.dispatch run by a real RQ worker (in-process SimpleWorker) against the suite's Redis."""

import time

import pytest
from rq import SimpleWorker
from rq.job import Job, JobStatus

from app import dispatch
from app.job_serializer import JobSerializer
from app.queue import ALL_QUEUES, JobQueue, invoice_scope, lock_key
from tests.helpers import settings_env, settings_for

ORG = "b2fe5e36-4ad1-ee11-9078-000d3a4b7a1c"
INVOICE = "7d1f2a5c-8b3e-ef11-8409-000d3a4b7a1c"
SCOPE = invoice_scope(ORG, INVOICE)


@pytest.fixture
def jobs(redis_url, redis_conn, monkeypatch):
    for key, value in settings_env(redis_url).items():
        monkeypatch.setenv(key, value)
    monkeypatch.setattr(dispatch, "_environment", None)
    monkeypatch.setitem(dispatch.HANDLERS, "probe", "tests.probe_handler")
    return JobQueue(redis_conn, settings_for(redis_url))


def work(jobs):
    worker = SimpleWorker([jobs.queue(name) for name in ALL_QUEUES], connection=jobs.redis, serializer=JobSerializer)
    worker.work(burst=True)


def probe(jobs, **payload):
    return jobs.submit_coalesced(
        "dataverse", "probe", {"invoice_id": INVOICE, **payload}, scope=SCOPE, trigger={"event": 1}
    )


def fetch(jobs, job_id) -> Job:
    return Job.fetch(job_id, connection=jobs.redis, serializer=JobSerializer)


def test_each_kind_reaches_its_handler_module(jobs):
    sync = jobs.submit_coalesced(
        "dataverse", "invoice.sync", {"organization_id": ORG, "invoice_id": INVOICE}, scope=SCOPE, trigger={"e": 1}
    )
    delete = jobs.submit(
        "dataverse",
        "invoice.delete",
        {"organization_id": ORG, "invoice_id": INVOICE, "pre_image": {"xc_xeroinvoiceid": "x"}},
        lock_scope=SCOPE,
    )
    line = jobs.submit("dataverse", "invoicedetail.resolve_parent", {"organization_id": ORG, "line_id": "l1"})
    connection = jobs.submit("maintenance", "connection.changed", {"organization_id": ORG, "connection_id": "c1"})
    work(jobs)
    results = {
        job_id: fetch(jobs, job_id).return_value()
        for job_id in (sync.job_id, delete.job_id, line.job_id, connection.job_id)
    }
    assert results[sync.job_id]["handler"] == "handlers.invoice_sync"
    assert results[sync.job_id]["events"] == 1
    assert results[delete.job_id]["handler"] == "handlers.invoice_delete"
    assert results[delete.job_id]["pre_image_columns"] == ["xc_xeroinvoiceid"]
    assert results[line.job_id]["handler"] == "handlers.invoice_line_parent"
    assert results[connection.job_id]["handler"] == "handlers.connection_changed"
    assert all(r["outcome"] == "done" for r in results.values())


def test_success_clears_the_pending_pointer_and_releases_the_lock(jobs):
    job = probe(jobs, value=7)
    work(jobs)
    assert fetch(jobs, job.job_id).return_value() == {"outcome": "done", "value": 7, "events": 1, "attempt": 1}
    assert jobs.redis.get(lock_key(SCOPE)) is None
    assert probe(jobs).job_id != job.job_id


def test_retryable_schedules_one_follow_up_after_retry_after(jobs):
    job = probe(jobs, behaviour="retryable")
    work(jobs)
    result = fetch(jobs, job.job_id).return_value()
    assert result["outcome"] == "retry_scheduled"
    follow_up = fetch(jobs, result["follow_up"])
    assert follow_up.get_status() == JobStatus.SCHEDULED
    assert follow_up.args[1]["attempt"] == 2
    scheduled_at = jobs.queue("dataverse").scheduled_job_registry.get_scheduled_time(follow_up.id)
    assert 25 <= (scheduled_at - follow_up.created_at.replace(tzinfo=scheduled_at.tzinfo)).total_seconds() <= 35


def test_retries_stop_after_the_configured_attempts(jobs):
    job = jobs.submit_coalesced("dataverse", "probe", {"behaviour": "crash", "attempt": 3}, scope=SCOPE)
    work(jobs)
    failed = fetch(jobs, job.job_id)
    assert failed.get_status() == JobStatus.FAILED
    assert "Gave up after 3 attempts" in failed.latest_result().exc_string
    assert job.job_id in jobs.queue("dataverse").failed_job_registry.get_job_ids()


def test_permanent_fails_at_once_with_the_users_words_and_no_rq_retry(jobs):
    job = probe(jobs, behaviour="permanent")
    work(jobs)
    failed = fetch(jobs, job.job_id)
    assert failed.get_status() == JobStatus.FAILED
    assert "Account code '999' is not a valid code" in failed.latest_result().exc_string
    assert jobs.queue("dataverse").scheduled_job_registry.count == 0
    assert jobs.queue("dataverse").count == 0


def test_connection_lost_fails_without_retry(jobs):
    job = probe(jobs, behaviour="connection_lost")
    work(jobs)
    assert fetch(jobs, job.job_id).get_status() == JobStatus.FAILED
    assert jobs.queue("dataverse").scheduled_job_registry.count == 0


def test_deferred_runs_again_at_the_known_time_without_using_an_attempt(jobs):
    job = probe(jobs, behaviour="deferred")
    work(jobs)
    result = fetch(jobs, job.job_id).return_value()
    assert result["outcome"] == "deferred"
    assert fetch(jobs, result["follow_up"]).args[1].get("attempt") == 1


def test_ignored_finishes_quietly(jobs):
    job = probe(jobs, behaviour="ignored")
    work(jobs)
    assert fetch(jobs, job.job_id).return_value() == {"outcome": "ignored", "reason": "created in Xero"}


def test_a_busy_invoice_is_handed_to_one_follow_up(jobs, monkeypatch):
    monkeypatch.setattr(dispatch, "LOCK_WAIT_SECONDS", 0.1)
    jobs.redis.set(lock_key(SCOPE), "another-worker", ex=60)
    job = probe(jobs, value=1)
    work(jobs)
    result = fetch(jobs, job.job_id).return_value()
    assert result["outcome"] == "handed_over"
    assert probe(jobs).job_id == result["follow_up"], "new events join the follow-up"
    assert jobs.redis.get(lock_key(SCOPE)) == b"another-worker", "someone else's lock is left alone"


def test_a_lock_held_by_a_run_that_is_no_longer_running_is_taken_over_at_once(jobs, monkeypatch):
    monkeypatch.setattr(dispatch, "LOCK_WAIT_SECONDS", 0.1)
    dead = jobs.submit("dataverse", "probe", {})  # its worker died: RQ took its run out of the started registry
    jobs.redis.set(lock_key(SCOPE), f"{dead.job_id}:0123456789abcdef", ex=600)
    jobs.queue("dataverse").remove(dead.job_id)
    job = probe(jobs, value=1)
    work(jobs)
    assert fetch(jobs, job.job_id).return_value()["outcome"] == "done"
    assert jobs.redis.get(lock_key(SCOPE)) is None


def test_a_lock_held_by_a_running_execution_is_respected(jobs, monkeypatch):
    monkeypatch.setattr(dispatch, "LOCK_WAIT_SECONDS", 0.1)
    running = jobs.submit("dataverse", "probe", {})
    holder = f"{running.job_id}:0123456789abcdef"
    jobs.redis.zadd(jobs.queue("dataverse").started_job_registry.key, {holder: time.time() + 60})
    jobs.redis.set(lock_key(SCOPE), holder, ex=600)
    jobs.queue("dataverse").remove(running.job_id)
    job = probe(jobs, value=1)
    work(jobs)
    assert fetch(jobs, job.job_id).return_value()["outcome"] == "handed_over"
    assert jobs.redis.get(lock_key(SCOPE)) == holder.encode()


def test_an_unknown_kind_fails_clearly(jobs):
    job = jobs.submit("dataverse", "nonsense", {})
    work(jobs)
    failed = fetch(jobs, job.job_id)
    assert failed.get_status() == JobStatus.FAILED
    assert "No handler is registered" in failed.latest_result().exc_string


def test_xero_event_kinds_reach_their_handlers(jobs):
    submitted = {
        kind: jobs.submit("xero", kind, {"tenant_id": "t1", "resource_id": "r1"}).job_id
        for kind in ("xero.invoice", "xero.creditnote", "xero.contact")
    }
    work(jobs)
    results = {kind: fetch(jobs, job_id).return_value() for kind, job_id in submitted.items()}
    assert {kind: (r["handler"], r["kind"]) for kind, r in results.items()} == {
        kind: ("handlers.xero_event", kind) for kind in submitted
    }
