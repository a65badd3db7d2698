"""`python -m app.worker`: an RQ worker on the connector's queues, with RQ's scheduler for delayed jobs."""

from __future__ import annotations

import argparse
import logging
import os
import socket
import sys
import time
from datetime import UTC, datetime, timedelta

from prometheus_client import start_http_server
from redis import Redis
from redis.exceptions import RedisError
from rq import Worker
from rq.job import Job
from rq.job_lifecycle import call_exception_handlers

from app import metrics, redis_client
from app.config import settings_or_exit
from app.connector_identity import record_connector_user_from_dataverse
from app.dispatch import JobFailed
from app.durable_worker import DurableWorker
from app.job_serializer import convert_pickled_jobs
from app.logs import configure_logging
from app.queue import ALL_QUEUES

# A live worker writes its heartbeat at least this often (RQ's default worker TTL, less its margin).
HEARTBEAT_SECONDS = 420


def wait_for_redis(connection: Redis, interval: float = 5.0) -> None:
    """A worker started before its Redis (or during an outage) waits, saying so, instead of crashing."""
    log = logging.getLogger(__name__)
    while True:
        try:
            connection.ping()
            return
        except RedisError as exc:
            log.warning("Redis unreachable, retrying", extra={"error": type(exc).__name__, "retry_in_s": interval})
            time.sleep(interval)


class ClassifiedFailures:
    """For an RQ worker class: no ERROR line with a traceback from RQ for a job the dispatcher already classified
    and logged as failed (one line, WARNING when a person must act); any other exception keeps RQ's report."""

    _exc_handlers: list

    def handle_exception(self, job: Job, *exc_info) -> None:  # type: ignore[no-untyped-def]
        if isinstance(exc_info[1], JobFailed):
            call_exception_handlers(self._exc_handlers, job, *exc_info)
            return
        super().handle_exception(job, *exc_info)  # type: ignore[misc]


class ConnectorWorker(ClassifiedFailures, DurableWorker):
    pass


def build_worker(
    queue_names: list[str], redis_url: str, name: str | None = None, recovery_seconds: int = 5
) -> ConnectorWorker:
    connection = redis_client(redis_url)
    # The worker's blocking dequeue waits longer than the web's short socket timeout allows.
    connection.connection_pool.connection_kwargs["socket_timeout"] = None
    wait_for_redis(connection)
    return ConnectorWorker(queue_names, connection=connection, name=name, recovery_seconds=recovery_seconds)


def alive_here(connection: Redis, hostname: str | None = None, now: datetime | None = None) -> bool:
    """Whether a worker of this host has written its heartbeat recently (the container's health check)."""
    hostname = hostname or socket.gethostname()
    oldest = (now or datetime.now(UTC)) - timedelta(seconds=HEARTBEAT_SECONDS + 60)
    for worker in Worker.all(connection=connection):
        beat = worker.last_heartbeat
        if worker.hostname == hostname and beat is not None and beat.replace(tzinfo=UTC) >= oldest:
            return True
    return False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m app.worker", description=__doc__)
    parser.add_argument(
        "--queues",
        nargs="+",
        default=list(ALL_QUEUES),
        choices=ALL_QUEUES,
        help="queues to serve, in priority order (default: all)",
    )
    parser.add_argument("--burst", action="store_true", help="exit when the queues are empty")
    parser.add_argument("--name", help="worker name (default: RQ's)")
    args = parser.parse_args(argv)
    settings = settings_or_exit("worker")
    configure_logging(settings.log_level)
    metrics.name_work_horses_after(os.getpid())
    if settings.worker_metrics_port:
        start_http_server(settings.worker_metrics_port, registry=metrics.registry())
    worker = build_worker(args.queues, settings.redis_url, args.name, settings.worker_recovery_seconds)
    convert_pickled_jobs(worker.connection)  # jobs queued before jobs became JSON
    if not settings.connector_user_id:
        record_connector_user_from_dataverse(worker.connection)
    logging.getLogger(__name__).info("worker starting", extra={"queues": args.queues})
    # RQ's own per-job lines (with the job's arguments) give way to the dispatcher's start and outcome lines.
    rq_level = "WARNING" if settings.log_level == "INFO" else settings.log_level
    worker.work(with_scheduler=True, burst=args.burst, logging_level=rq_level)
    return 0


if __name__ == "__main__":
    sys.exit(main())
