"""Periodic work: the cron scheduler's ticks become one coalesced run per kind, however many ticks pile up."""

from rq import SimpleWorker

from app import schedule
from app.job_serializer import JobSerializer
from app.queue import ALL_QUEUES, QUEUE_MAINTENANCE
from app.scheduler import build_scheduler
from tests.test_dispatch import jobs  # noqa: F401 - the fixture is reused


def test_due_ticks_queue_one_run_of_each_kind(jobs, monkeypatch):  # noqa: F811
    monkeypatch.setattr(
        schedule,
        "PERIODIC",
        [
            schedule.Periodic(
                kind="probe",
                queue=QUEUE_MAINTENANCE,
                description="a test job",
                interval_seconds=60,
                payload={"value": "nightly"},
            ),
        ],
    )
    scheduler = build_scheduler(jobs.settings.redis_url)
    assert [job.name for job in scheduler.get_jobs()] == ["probe"]

    maintenance = jobs.queue(QUEUE_MAINTENANCE)
    scheduler.get_jobs()[0].enqueue(jobs.redis)  # two ticks, as from two scheduler processes
    scheduler.get_jobs()[0].enqueue(jobs.redis)
    ticks = list(maintenance.job_ids)
    assert len(ticks) == 2

    worker = SimpleWorker([jobs.queue(name) for name in ALL_QUEUES], connection=jobs.redis, serializer=JobSerializer)
    worker.work(burst=True)
    outcomes = [maintenance.fetch_job(tick).return_value() for tick in ticks]
    assert outcomes[0].startswith("probe: queued")
    assert outcomes[1].startswith("probe: coalesced"), "the second tick joined the run still waiting"
    probe_runs = [job_id for job_id in maintenance.finished_job_registry.get_job_ids() if job_id.startswith("probe-")]
    assert len(probe_runs) == 1
    assert maintenance.fetch_job(probe_runs[0]).return_value()["value"] == "nightly"


def test_a_kind_no_longer_scheduled_is_a_no_op(jobs, monkeypatch):  # noqa: F811
    monkeypatch.setattr(schedule, "PERIODIC", [])
    jobs.queue(QUEUE_MAINTENANCE).enqueue(schedule.tick, "gone")
    SimpleWorker([jobs.queue(QUEUE_MAINTENANCE)], connection=jobs.redis, serializer=JobSerializer).work(burst=True)
    finished = jobs.queue(QUEUE_MAINTENANCE).finished_job_registry.get_job_ids()
    assert jobs.queue(QUEUE_MAINTENANCE).fetch_job(finished[0]).return_value() == "gone is no longer scheduled"
