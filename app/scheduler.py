"""`python -m app.scheduler`: RQ's cron scheduler for the periodic work listed in app.schedule.PERIODIC."""

from __future__ import annotations

import logging
import sys

from rq.cron import CronScheduler

from app import redis_client, schedule
from app.config import settings_or_exit
from app.logs import configure_logging
from app.queue import QUEUE_MAINTENANCE
from app.worker import wait_for_redis


def build_scheduler(redis_url: str) -> CronScheduler:
    connection = redis_client(redis_url)
    wait_for_redis(connection)
    scheduler = CronScheduler(connection=connection, logging_level=logging.INFO)
    for entry in schedule.PERIODIC:
        scheduler.register(
            schedule.tick,
            QUEUE_MAINTENANCE,
            args=(entry.kind,),
            interval=entry.interval_seconds,
            cron=entry.cron,
            name=entry.kind,
        )
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
