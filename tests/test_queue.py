"""Coalescing and redelivery semantics of app.queue against the suite's real Redis."""

import time
from datetime import UTC, datetime, timedelta

import pytest
from rq.executions import Execution
from rq.job import Job, JobStatus

from app.job_serializer import JobSerializer
from app.queue import JobQueue, invoice_scope, pending_key
from tests.helpers import settings_for

ORG = "b2fe5e36-4ad1-ee11-9078-000d3a4b7a1c"
INVOICE = "7d1f2a5c-8b3e-ef11-8409-000d3a4b7a1c"
SCOPE = invoice_scope(ORG, INVOICE)
PAYLOAD = {"organization_id": ORG, "invoice_id": INVOICE}


@pytest.fixture
def jobs(redis_url, redis_conn):
    return JobQueue(redis_conn, settings_for(redis_url))


def sync(jobs, n=0, run_at=None):
    return jobs.submit_coalesced("dataverse", "invoice.sync", PAYLOAD, scope=SCOPE, trigger={"n": n}, run_at=run_at)


def begin(jobs, job_id):
    """What a worker does when it takes a job: out of its queue, into the started registry, status started."""
    job = jobs.fetch(job_id)
    jobs.queue("dataverse").remove(job_id)
    with jobs.redis.pipeline() as pipe:
        Execution.create(job, 60, pipeline=pipe)
        job.set_status(JobStatus.STARTED, pipeline=pipe)
        pipe.execute()


def start(jobs, redis_conn, job_id):
    """What the worker does when a job begins reading state."""
    begin(jobs, job_id)
    jobs.clear_pending(SCOPE, job_id)


def test_events_join_the_waiting_job_and_their_triggers_are_kept(jobs):
    first = sync(jobs, 1)
    assert [sync(jobs, n).status for n in (2, 3)] == ["coalesced", "coalesced"]
    assert sync(jobs, 4).job_id == first.job_id
    assert jobs.queue("dataverse").count == 1
    assert [t["n"] for t in jobs.take_triggers(first.job_id)] == [1, 2, 3, 4]


def test_events_while_the_job_runs_leave_exactly_one_follow_up(jobs, redis_conn):
    first = sync(jobs)
    start(jobs, redis_conn, first.job_id)
    follow_ups = {sync(jobs, n).job_id for n in range(5)}
    assert len(follow_ups) == 1
    assert first.job_id not in follow_ups
    assert jobs.queue("dataverse").count == 1


def test_a_job_that_started_but_has_not_cleared_still_absorbs_events(jobs, redis_conn):
    # Between taking the lock and clearing the pointer the job has not read anything yet: joining is safe.
    first = sync(jobs)
    begin(jobs, first.job_id)
    assert sync(jobs).job_id == first.job_id


def test_a_finished_or_vanished_job_is_not_joined(jobs, redis_conn):
    first = sync(jobs)
    Job.fetch(first.job_id, connection=redis_conn, serializer=JobSerializer).set_status(JobStatus.FINISHED)
    second = sync(jobs)
    assert second.status == "queued" and second.job_id != first.job_id
    redis_conn.delete(Job.key_for(second.job_id))
    assert sync(jobs).job_id not in {first.job_id, second.job_id}


def test_a_pointer_to_a_job_in_no_queue_or_registry_is_replaced(jobs, redis_conn):
    # A worker popped the job and died before it started: the job says "queued" but no worker will find it.
    lost = sync(jobs)
    jobs.queue("dataverse").remove(lost.job_id)
    assert jobs.fetch(lost.job_id).get_status() == JobStatus.QUEUED
    fresh = sync(jobs)
    assert fresh.status == "queued" and fresh.job_id != lost.job_id
    assert redis_conn.get(pending_key(SCOPE)).decode() == fresh.job_id
    assert jobs.queue("dataverse").job_ids == [fresh.job_id]


def test_an_abandoned_job_is_retried_and_events_join_the_retry(jobs):
    first = sync(jobs)
    begin(jobs, first.job_id)
    jobs.queue("dataverse").started_job_registry.cleanup(timestamp=time.time() + 3600)  # its worker died
    assert jobs.fetch(first.job_id).get_status() == JobStatus.QUEUED, "the first retry is at once"
    assert jobs.queue("dataverse").job_ids == [first.job_id]
    assert sync(jobs).job_id == first.job_id


def test_a_pointer_to_a_started_job_no_longer_running_is_replaced(jobs, redis_conn):
    first = sync(jobs)
    begin(jobs, first.job_id)
    redis_conn.delete(jobs.queue("dataverse").started_job_registry.key)
    assert sync(jobs).job_id != first.job_id


def test_a_job_taken_by_a_worker_but_not_started_is_joined(jobs, redis_conn):
    first = sync(jobs)
    queue = jobs.queue("dataverse")
    redis_conn.lmove(queue.key, queue.intermediate_queue_key)
    assert sync(jobs).job_id == first.job_id


def test_a_redelivery_answers_with_the_job_of_the_first_delivery(jobs):
    first = jobs.submit_coalesced("dataverse", "invoice.sync", PAYLOAD, scope=SCOPE, delivery_key="op-1")
    again = jobs.submit_coalesced("dataverse", "invoice.sync", PAYLOAD, scope=SCOPE, delivery_key="op-1")
    assert (again.status, again.job_id) == ("duplicate", first.job_id)
    other = jobs.submit("dataverse", "invoice.delete", PAYLOAD, lock_scope=SCOPE, delivery_key="op-1")
    assert other.status == "duplicate"


def test_a_scheduled_retry_runs_now_when_a_new_event_arrives(jobs, redis_conn):
    later = datetime.now(UTC) + timedelta(hours=1)
    retry = sync(jobs, run_at=later)
    queue = jobs.queue("dataverse")
    assert retry.job_id in queue.scheduled_job_registry.get_job_ids() and queue.count == 0
    assert sync(jobs).job_id == retry.job_id
    assert queue.job_ids == [retry.job_id]
    assert retry.job_id not in queue.scheduled_job_registry.get_job_ids()


def test_a_delayed_resubmission_does_not_pull_a_scheduled_job_forward(jobs):
    later = datetime.now(UTC) + timedelta(hours=1)
    retry = sync(jobs, run_at=later)
    assert sync(jobs, run_at=later + timedelta(minutes=5)).job_id == retry.job_id
    assert jobs.queue("dataverse").count == 0


def test_hand_over_moves_the_pending_pointer_and_the_triggers(jobs, redis_conn):
    first = sync(jobs, 1)
    sync(jobs, 2)
    begin(jobs, first.job_id)
    follow_up = jobs.hand_over(
        "dataverse",
        "invoice.sync",
        PAYLOAD,
        scope=SCOPE,
        from_job_id=first.job_id,
        run_at=datetime.now(UTC) + timedelta(seconds=5),
    )
    assert redis_conn.get(pending_key(SCOPE)).decode() == follow_up
    assert sync(jobs, 3).job_id == follow_up
    assert [t["n"] for t in jobs.take_triggers(follow_up)] == [1, 2, 3]


def test_hand_over_joins_a_job_already_pending(jobs, redis_conn):
    first = sync(jobs)
    start(jobs, redis_conn, first.job_id)
    newer = sync(jobs)
    handed = jobs.hand_over(
        "dataverse",
        "invoice.sync",
        PAYLOAD,
        scope=SCOPE,
        from_job_id=first.job_id,
        run_at=datetime.now(UTC) + timedelta(seconds=5),
    )
    assert handed == newer.job_id


def test_deletes_are_separate_jobs(jobs):
    sync(jobs)
    a = jobs.submit("dataverse", "invoice.delete", {**PAYLOAD, "pre_image": {}}, lock_scope=SCOPE)
    b = jobs.submit("dataverse", "invoice.delete", {**PAYLOAD, "pre_image": {}}, lock_scope=SCOPE)
    assert a.job_id != b.job_id
    assert jobs.queue("dataverse").count == 3


def test_redelivery_memory(jobs):
    assert jobs.seen_before("op:Update:invoice:1") is None
    jobs.remember_delivery("op:Update:invoice:1", "job-1")
    assert jobs.seen_before("op:Update:invoice:1") == "job-1"


def test_depths(jobs):
    sync(jobs)
    assert jobs.depths() == {"dataverse": 1, "xero": 0, "maintenance": 0}
