"""`python -m app.jobs`: what is waiting (per queue and connection), failed jobs with their reasons, and requeue.

`requeue` of a failed invoice sync does what a person (or the console's retry) would: it sets the invoice's
export status back (Ready to update, or No for one never sent) in Dynamics and queues a sync. When that cannot
be done (Dynamics not configured, the invoice gone or read-only), it says why and leaves the job failed.
"""

from __future__ import annotations

import argparse
import json
import sys

from redis import Redis
from rq import Queue
from rq.job import Job

from app import dynamics_schema as schema
from app import redis_client, waiting
from app.config import Settings, settings_or_exit
from app.errors import ConnectorError
from app.queue import ALL_QUEUES, JobQueue, fetch_jobs, job_queue


def _last_line(text: str | None) -> str:
    lines = [line for line in (text or "").strip().splitlines() if line.strip()]
    return lines[-1].strip() if lines else ""


def failed_jobs(queue: Queue) -> list[Job]:
    return fetch_jobs(queue.failed_job_registry.get_job_ids(), queue.connection)


def print_waiting(connection: Redis) -> None:
    held = waiting.summary(connection)
    print("queue\tqueued\trunning\tretrying\tdeferred\tfailed")
    for name, counts in held["queues"].items():
        print("\t".join([name, *(str(counts[key]) for key in ("queued", "running", "retrying", "deferred", "failed"))]))
    if held["connections"]:
        print("\nconnection\tretrying\tdeferred\tfailed")
        for label, counts in held["connections"].items():
            print("\t".join([label, *(str(counts.get(key, 0)) for key in ("retrying", "deferred", "failed"))]))


def requeue(job: Job, queue: Queue, connection: Redis, settings: Settings) -> tuple[bool, str]:
    """Put one failed job back to work; (done, what happened in words)."""
    if job.meta.get("kind") != "invoice.sync":
        queue.failed_job_registry.requeue(job.id)
        return True, f"{job.id}: requeued"
    return _resync_invoice(job, queue, connection, settings)


def _resync_invoice(job: Job, queue: Queue, connection: Redis, settings: Settings) -> tuple[bool, str]:
    from app.admin.attention import retry_invoice  # what the console's retry does, and what a person would do
    from app.services import services_for  # the clients are only needed here

    invoice_id = job.args[1]["invoice_id"]
    services = services_for(connection)
    if services is None:
        return False, (
            f"{job.id}: not requeued: invoice {invoice_id} is marked Failed in Dynamics and this command is not "
            "connected to Dataverse to set its export status back; set it there, or configure Dataverse here"
        )
    try:
        row = services.dataverse.get(schema.entity_set_name("invoice"), invoice_id)
        in_xero = bool(row.get(schema.INVOICE_XERO_INVOICE_ID))
        queued = retry_invoice(services, JobQueue(connection, settings), invoice_id, in_xero)
    except ConnectorError as exc:
        return False, f"{job.id}: not requeued: Dynamics refused to reset invoice {invoice_id}: {exc.user_message}"
    queue.failed_job_registry.remove(job.id)
    status = "Ready to update" if in_xero else "No"
    return True, f"{job.id}: invoice {invoice_id} export status set back to {status}; sync queued as {queued}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m app.jobs", description=__doc__)
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("waiting", help="count queued, running, retrying, deferred and failed jobs (the default)")
    sub.add_parser("failed", help="list failed jobs")
    requeue_parser = sub.add_parser("requeue", help="put failed jobs back to work")
    requeue_parser.add_argument("job_ids", nargs="*", help="job ids (default with --all: every failed job)")
    requeue_parser.add_argument("--all", action="store_true")
    sub.add_parser("json", help="what is waiting, as JSON (the same as /readyz shows)")
    args = parser.parse_args(argv)
    settings = settings_or_exit("worker")
    connection = redis_client(settings.redis_url)
    queues = [job_queue(name, connection) for name in ALL_QUEUES]

    if args.command in (None, "waiting"):
        print_waiting(connection)
        return 0
    if args.command == "json":
        print(json.dumps(waiting.summary(connection), indent=2))
        return 0
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
    done = refused = 0
    for queue in queues:
        for job in failed_jobs(queue):
            if args.all or job.id in args.job_ids:
                ok, said = requeue(job, queue, connection, settings)
                print(said)
                done, refused = done + ok, refused + (not ok)
    print(f"requeued {done} job(s)" + (f"; {refused} could not be" if refused else ""))
    return 1 if refused else 0


if __name__ == "__main__":
    sys.exit(main())
