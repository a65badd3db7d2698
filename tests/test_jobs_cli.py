"""`python -m app.jobs`: failed jobs are listed with their reason and can be requeued."""

from rq import SimpleWorker

from app import create_app, waiting
from app import jobs as jobs_cli
from app.job_serializer import JobSerializer
from app.queue import ALL_QUEUES
from tests.test_dispatch import INVOICE, jobs, probe  # noqa: F401 - the fixture is reused


def test_failed_jobs_are_listed_with_their_reason_and_can_be_requeued(jobs, capsys):  # noqa: F811
    failed = probe(jobs, behaviour="permanent")
    SimpleWorker([jobs.queue(name) for name in ALL_QUEUES], connection=jobs.redis, serializer=JobSerializer).work(
        burst=True
    )

    assert jobs_cli.main(["failed"]) == 0
    listing = capsys.readouterr().out
    assert failed.job_id in listing
    assert "Account code '999' is not a valid code" in listing
    assert "1 failed job(s)" in listing

    assert jobs_cli.main(["requeue", failed.job_id]) == 0
    assert "requeued 1 job(s)" in capsys.readouterr().out
    assert jobs.queue("dataverse").job_ids == [failed.job_id]


def test_waiting_work_is_counted_per_queue_and_per_connection(jobs, capsys):  # noqa: F811
    for behaviour, connection in (("retryable", "conn-a"), ("deferred", "conn-a"), ("permanent", "conn-b")):
        jobs.submit("dataverse", "probe", {"behaviour": behaviour, "connection_id": connection})
    SimpleWorker([jobs.queue(name) for name in ALL_QUEUES], connection=jobs.redis, serializer=JobSerializer).work(
        burst=True
    )

    held = waiting.summary(jobs.redis)
    assert held["queues"]["dataverse"] == {"queued": 0, "running": 0, "retrying": 1, "deferred": 1, "failed": 1}
    assert held["connections"] == {"conn-a": {"deferred": 1, "retrying": 1}, "conn-b": {"failed": 1}}

    ready = create_app(jobs.settings, redis=jobs.redis).test_client().get("/readyz").get_json()
    assert ready["waiting"] == held

    assert jobs_cli.main([]) == 0
    table = capsys.readouterr().out
    assert "dataverse\t0\t0\t1\t1\t1" in table
    assert "conn-a\t1\t1\t0" in table and "conn-b\t0\t0\t1" in table


def test_requeue_of_a_failed_invoice_sync_says_why_it_cannot_without_dynamics(jobs, capsys):  # noqa: F811
    payload = {"organization_id": "b2fe5e36-4ad1-ee11-9078-000d3a4b7a1c", "invoice_id": INVOICE}
    job = jobs.fetch(jobs.submit("dataverse", "invoice.sync", payload).job_id)
    jobs.queue("dataverse").remove(job.id)
    jobs.queue("dataverse").failed_job_registry.add(job, exc_string="Xero says: no", ttl=600)

    assert jobs_cli.main(["requeue", job.id]) == 1
    said = capsys.readouterr().out
    assert "not requeued" in said and "export status" in said and "could not be" in said
    assert job.id in jobs.queue("dataverse").failed_job_registry.get_job_ids(), "left where a person sees it"
    assert jobs.queue("dataverse").job_ids == [], "nothing pretends to be requeued"
