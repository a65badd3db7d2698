"""RQ's jobs and registries as rows a person can read: what a job is about, when it runs again, why it failed.

Only ever reads (and, for the console's actions, moves a job within RQ's registries); a job's payload carries
ids only, so nothing here is secret.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from rq import Queue
from rq.job import Job

from app.queue import ALL_QUEUES, JobQueue, triggers_key

# Kinds in words; anything else is shown by its kind.
KIND_WORDS = {
    "invoice.sync": "Send invoice to Xero",
    "invoice.delete": "Cancel deleted invoice in Xero",
    "invoicedetail.resolve_parent": "Find a line's invoice",
    "connection.changed": "Connection changed",
    "xero.invoice": "Invoice changed in Xero",
    "xero.creditnote": "Credit note changed in Xero",
    "xero.contact": "Contact balances from Xero",
    "reconcile": "Reconciliation",
    "xero.token_refresh": "Xero token refresh",
    "reference_data.import": "Reference data import",
    "reference_data.import_all": "Reference data import (all)",
    "reference_data.nightly": "Nightly reference data import",
}
LOOKED_THROUGH = 500  # jobs read per queue and registry for one page: a backlog must not make a page slow


@dataclass(frozen=True)
class JobRow:
    id: str
    queue: str
    kind: str
    what: str
    subject: str  # the invoice, connection or Xero resource the job is about
    invoice_id: str | None
    connection_id: str | None
    attempt: int
    status: str
    created_at: float | None
    runs_at: datetime | None  # scheduled jobs: the next attempt
    ended_at: datetime | None
    outcome: str  # finished: the handler's outcome; failed: the reason
    events: int | None  # webhook events that joined the job (when known)


def _payload(job: Job) -> dict[str, Any]:
    try:
        args = job.args
    except Exception:  # a job whose arguments cannot be read is still listed, by id
        return {}
    return dict(args[1]) if len(args) > 1 and isinstance(args[1], dict) else {}


def _last_line(text: str | None) -> str:
    lines = [line.strip() for line in (text or "").strip().splitlines() if line.strip()]
    return lines[-1] if lines else ""


def failure_reason(job: Job) -> str:
    result = job.latest_result()
    line = _last_line(result.exc_string if result else None)
    # "app.dispatch.JobFailed: <reason>" -> "<reason>": the reason is already written for a person.
    return line.split(": ", 1)[1] if line.startswith(("app.dispatch.JobFailed", "JobFailed")) and ": " in line else line


def _outcome(job: Job, status: str) -> tuple[str, int | None]:
    if status == "failed":
        return failure_reason(job), None
    if status != "finished":
        return "", None
    value = job.return_value()
    if not isinstance(value, dict):
        return "", None
    words = str(value.get("outcome", "done")).replace("_", " ")
    detail = value.get("result") or value.get("reason") or value.get("skipped") or ""
    events = value.get("events") if isinstance(value.get("events"), int) else None
    return (f"{words}: {detail}" if detail else words), events


def job_row(job: Job, runs_at: datetime | None = None) -> JobRow:
    payload = _payload(job)
    kind = str(job.meta.get("kind") or payload.get("kind") or job.func_name)
    status = job.get_status(refresh=False)
    status_text = status.value if status else "unknown"
    outcome, events = _outcome(job, status_text)
    subject = str(
        payload.get("invoice_id")
        or payload.get("connection_id")
        or payload.get("resource_id")
        or payload.get("line_id")
        or ""
    )
    return JobRow(
        id=job.id,
        queue=job.origin,
        kind=kind,
        what=KIND_WORDS.get(kind, kind),
        subject=subject,
        invoice_id=payload.get("invoice_id"),
        connection_id=payload.get("connection_id"),
        attempt=int(payload.get("attempt", 1)),
        status=status_text,
        created_at=job.meta.get("created_at"),
        runs_at=runs_at,
        ended_at=job.ended_at.replace(tzinfo=UTC) if job.ended_at and not job.ended_at.tzinfo else job.ended_at,
        outcome=outcome,
        events=events,
    )


def _fetch(queue: Queue, job_ids: list[str]) -> list[Job]:
    """Jobs read the way their queue writes them (its serializer)."""
    found = Job.fetch_many(job_ids, connection=queue.connection, serializer=queue.serializer)
    return [job for job in found if job is not None]


def scheduled(jobs: JobQueue) -> list[JobRow]:
    """The jobs waiting for a time (retries, deferrals), soonest first (the first LOOKED_THROUGH of each queue)."""
    found: list[JobRow] = []
    for name in ALL_QUEUES:
        registry = jobs.queue(name).scheduled_job_registry
        soonest = jobs.redis.zrange(registry.key, 0, LOOKED_THROUGH - 1, withscores=True)
        times = {_text(job_id): score for job_id, score in soonest}
        for job in _fetch(jobs.queue(name), list(times)):
            runs_at = datetime.fromtimestamp(float(times[job.id]), UTC)
            found.append(job_row(job, runs_at))
    return sorted(found, key=lambda row: row.runs_at or datetime.max.replace(tzinfo=UTC))


def failed(jobs: JobQueue) -> list[JobRow]:
    """The most recent failures (LOOKED_THROUGH per queue), newest first."""
    found: list[JobRow] = []
    for name in ALL_QUEUES:
        newest = jobs.queue(name).failed_job_registry.get_job_ids(start=-LOOKED_THROUGH, end=-1)
        found += [job_row(job) for job in _fetch(jobs.queue(name), newest)]
    return sorted(found, key=lambda row: row.ended_at or datetime.min.replace(tzinfo=UTC), reverse=True)


def for_invoice(jobs: JobQueue, invoice_id: str) -> list[JobRow]:
    """Jobs about one invoice still known to RQ: waiting, running, scheduled, failed and recently finished (among
    the LOOKED_THROUGH oldest waiting and newest failed and finished jobs of each queue)."""
    wanted = invoice_id.lower()
    rows: dict[str, JobRow] = {row.id: row for row in scheduled(jobs) if (row.invoice_id or "").lower() == wanted}
    for name in ALL_QUEUES:
        queue = jobs.queue(name)
        ids = (
            queue.get_job_ids(0, LOOKED_THROUGH - 1)
            + queue.started_job_registry.get_job_ids()
            + queue.failed_job_registry.get_job_ids(start=-LOOKED_THROUGH, end=-1)
            + queue.finished_job_registry.get_job_ids(start=-LOOKED_THROUGH, end=-1)
        )
        for job in _fetch(queue, [job_id for job_id in ids if job_id not in rows]):
            row = job_row(job)
            if (row.invoice_id or "").lower() == wanted:
                rows[row.id] = row
    return sorted(rows.values(), key=lambda row: row.created_at or 0)


def waiting_events(jobs: JobQueue, job_id: str) -> list[dict[str, Any]]:
    """The webhook events that joined a job that has not started yet (read, not taken)."""
    return [json.loads(item) for item in jobs.redis.lrange(triggers_key(job_id), 0, -1)]


def oldest_waiting_seconds(queue: Queue, now: datetime) -> float | None:
    first = queue.get_job_ids(0, 0)
    if not first:
        return None
    found = _fetch(queue, first)
    job = found[0] if found else None
    if job is None or job.enqueued_at is None:
        return None
    enqueued = job.enqueued_at if job.enqueued_at.tzinfo else job.enqueued_at.replace(tzinfo=UTC)
    return (now - enqueued).total_seconds()


def run_now(jobs: JobQueue, job_id: str) -> JobRow | None:
    """A scheduled job goes to its queue now; None when it is no longer scheduled (it ran, or was moved)."""
    for name in ALL_QUEUES:
        queue = jobs.queue(name)
        if queue.scheduled_job_registry.remove(job_id):
            [job] = _fetch(queue, [job_id])
            queue.enqueue_job(job)
            return job_row(job)
    return None


def requeue_failed(jobs: JobQueue, job_id: str) -> JobRow | None:
    for name in ALL_QUEUES:
        queue = jobs.queue(name)
        registry = queue.failed_job_registry
        if job_id in registry:
            registry.requeue(job_id)
            return job_row(_fetch(queue, [job_id])[0])
    return None


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value
