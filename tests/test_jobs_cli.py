"""`python -m app.jobs`: failed jobs are listed with their reason and can be requeued."""

from rq import SimpleWorker

from app import jobs as jobs_cli
from app.job_serializer import JobSerializer
from app.queue import ALL_QUEUES
from tests.test_dispatch import jobs, probe  # noqa: F401 - the fixture is reused


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
