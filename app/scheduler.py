"""`python -m app.scheduler`: RQ's cron scheduler for the periodic work listed in app.schedule.PERIODIC."""

from __future__ import annotations

import logging
import sys

from redis import Redis
from rq.cron import (
    DEFAULT_CRON_JOB_HISTORY_LIMIT,
    DEFAULT_CRON_JOB_HISTORY_TTL,
    CronJob,
    CronScheduler,
    cron_job_registry,
)
from rq.job import Job

from app import redis_client, schedule
from app.config import settings_or_exit
from app.logs import configure_logging
from app.queue import QUEUE_MAINTENANCE, job_queue
from app.worker import wait_for_redis


class JsonCronJob(CronJob):
    """RQ's cron job, enqueued as JSON like every other job (RQ's own always uses its default, pickle)."""

    def enqueue(self, connection: Redis) -> Job:
        if not self.func:
            raise ValueError("a cron job without a function cannot be enqueued")
        queue = job_queue(self.queue_name, connection)
        with connection.pipeline() as pipeline:
            job = queue.enqueue(self.func, args=self.args, kwargs=self.kwargs, **self.job_options, pipeline=pipeline)
            assert job.enqueued_at is not None
            pipeline.zadd(self.job_history_key, {job.id: job.enqueued_at.timestamp()})
            pipeline.zremrangebyrank(self.job_history_key, 0, -(DEFAULT_CRON_JOB_HISTORY_LIMIT + 1))
            pipeline.expire(self.job_history_key, DEFAULT_CRON_JOB_HISTORY_TTL)
            cron_job_registry.add(self.name, pipeline, enqueue_timestamp=job.enqueued_at.timestamp())
            pipeline.execute()
        return job


def build_scheduler(redis_url: str) -> CronScheduler:
    connection = redis_client(redis_url)
    wait_for_redis(connection)
    scheduler = CronScheduler(connection=connection, logging_level=logging.INFO)
    for entry in schedule.PERIODIC:
        cron_job = scheduler.register(
            schedule.tick,
            QUEUE_MAINTENANCE,
            args=(entry.kind,),
            interval=entry.interval_seconds,
            cron=entry.cron,
            name=entry.kind,
        )
        cron_job.__class__ = JsonCronJob  # RQ builds the CronJob itself; only how it enqueues differs
    return scheduler


def main() -> int:
    settings = settings_or_exit("scheduler")
    configure_logging(settings.log_level)
    scheduler = build_scheduler(settings.redis_url)
    logging.getLogger(__name__).info("scheduler starting", extra={"periodic": [p.kind for p in schedule.PERIODIC]})
    scheduler.start()
    return 0


if __name__ == "__main__":
    sys.exit(main())
