"""`python -m app.jobs`: list failed jobs with their reasons, and requeue them once the cause is fixed."""

from __future__ import annotations

import argparse
import sys

from rq import Queue
from rq.job import Job

from app import redis_client
from app.config import settings_or_exit
from app.job_serializer import JobSerializer
from app.queue import ALL_QUEUES


def _last_line(text: str | None) -> str:
    lines = [line for line in (text or "").strip().splitlines() if line.strip()]
    return lines[-1].strip() if lines else ""


def failed_jobs(queue: Queue) -> list[Job]:
    registry = queue.failed_job_registry
    return [
        job
        for job in Job.fetch_many(registry.get_job_ids(), connection=queue.connection, serializer=JobSerializer)
        if job
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m app.jobs", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("failed", help="list failed jobs")
    requeue = sub.add_parser("requeue", help="put failed jobs back on their queue")
    requeue.add_argument("job_ids", nargs="*", help="job ids (default with --all: every failed job)")
    requeue.add_argument("--all", action="store_true")
    args = parser.parse_args(argv)
    settings = settings_or_exit("worker")
    connection = redis_client(settings.redis_url)
    queues = [Queue(name, connection=connection, serializer=JobSerializer) for name in ALL_QUEUES]

    if args.command == "failed":
        count = 0
        for queue in queues:
            for job in failed_jobs(queue):
                count += 1
                kind = job.meta.get("kind", job.func_name)
                result = job.latest_result()
                reason = _last_line(result.exc_string if result else None)
                print(f"{queue.name}\t{job.id}\t{kind}\t{job.ended_at or ''}\t{reason}")
        print(f"{count} failed job(s)")
        return 0

    if not args.job_ids and not args.all:
        parser.error("name job ids or pass --all")
    done = 0
    for queue in queues:
        for job_id in queue.failed_job_registry.get_job_ids():
            if args.all or job_id in args.job_ids:
                queue.failed_job_registry.requeue(job_id)
                done += 1
    print(f"requeued {done} job(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
