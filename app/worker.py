"""`python -m app.worker`: an RQ worker on the connector's queues, with RQ's scheduler for delayed jobs."""

from __future__ import annotations

import argparse
import logging
import sys
import time

from redis import Redis
from redis.exceptions import RedisError

from app import redis_client
from app.config import settings_or_exit
from app.connector_identity import record_connector_user_from_dataverse
from app.durable_worker import DurableWorker
from app.job_serializer import convert_pickled_jobs
from app.logs import configure_logging
from app.queue import ALL_QUEUES


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


def build_worker(
    queue_names: list[str], redis_url: str, name: str | None = None, recovery_seconds: int = 5
) -> DurableWorker:
    connection = redis_client(redis_url)
    # The worker's blocking dequeue waits longer than the web's short socket timeout allows.
    connection.connection_pool.connection_kwargs["socket_timeout"] = None
    wait_for_redis(connection)
    return DurableWorker(queue_names, connection=connection, name=name, recovery_seconds=recovery_seconds)


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
    worker = build_worker(args.queues, settings.redis_url, args.name, settings.worker_recovery_seconds)
    convert_pickled_jobs(worker.connection)  # jobs queued before jobs became JSON
    if not settings.connector_user_id:
        record_connector_user_from_dataverse(worker.connection)
    logging.getLogger(__name__).info("worker starting", extra={"queues": args.queues})
    worker.work(with_scheduler=True, burst=args.burst, logging_level=settings.log_level)
    return 0


if __name__ == "__main__":
    sys.exit(main())
