"""The single job entry point: lock the scope, route the job to its handler, and map errors to RQ.

Handlers live in `handlers/`, one module per flow, each with `handle(ctx: JobContext) -> dict`. This module
is the only place that decides what a failure means for the queue (ARCHITECTURE.md, invariant 6).
"""

from __future__ import annotations

import importlib
import logging
import os
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from redis import Redis
from redis.exceptions import LockError
from rq import get_current_job
from rq.executions import Execution
from rq.job import Job

from app import invoice_timeline, metrics
from app.config import Settings, load_settings
from app.errors import ConnectionLost, Deferred, Ignored, Permanent, Retryable
from app.logs import new_correlation_id, set_correlation_id
from app.queue import JobQueue, delay_for_attempt, lock_key

log = logging.getLogger(__name__)

# Event kind -> handler module. New flows register here and nowhere else.
HANDLERS: dict[str, str] = {
    "invoice.sync": "handlers.invoice_sync",
    "invoice.delete": "handlers.invoice_delete",
    "invoicedetail.resolve_parent": "handlers.invoice_line_parent",
    "connection.changed": "handlers.connection_changed",
    "xero.invoice": "handlers.xero_event",
    "xero.creditnote": "handlers.xero_event",
    "xero.contact": "handlers.xero_event",
    "reconcile": "handlers.reconciliation",
    "xero.token_refresh": "handlers.xero_tokens_refresh",
    "xero.balances_nightly": "handlers.xero_balances_nightly",
    "reference_data.import": "handlers.reference_data",
    "reference_data.import_all": "handlers.reference_data",
    "reference_data.nightly": "handlers.reference_data",
}

LOCK_WAIT_SECONDS = 2.0  # a short wait covers back-to-back jobs; longer waits hand over instead of blocking
HAND_OVER_DELAY = timedelta(seconds=5)


class JobFailed(Exception):
    """Raised to put a job into RQ's failed registry, with the reason a person can act on."""


@dataclass(frozen=True)
class JobContext:
    kind: str
    payload: Mapping[str, Any]
    job_id: str
    attempt: int
    triggers: list[dict[str, Any]]
    settings: Settings = field(repr=False)
    jobs: JobQueue = field(repr=False)
    redis: Redis = field(repr=False)
    _retry_at: list[datetime] = field(default_factory=list, repr=False, compare=False)
    _noted: dict[str, str] = field(default_factory=dict, repr=False, compare=False)

    def note_connection(self, connection_id: str) -> None:
        """The Xero connection this job works for, once the handler knows it: its retries and failures are
        counted under that connection (app.waiting)."""
        self._noted["connection_id"] = connection_id

    @property
    def connection_id(self) -> str | None:
        return self._noted.get("connection_id") or self.payload.get("connection_id")

    def retry_at(self, exc: Retryable | Exception) -> datetime:
        """When this job will be tried again after `exc`: decided once, so what a handler tells the user
        ("retrying at ...") is what the queue does."""
        if not self._retry_at:
            retry_after = exc.retry_after if isinstance(exc, Retryable) else None
            delay = (
                timedelta(seconds=retry_after)
                if retry_after is not None
                else delay_for_attempt(self.settings, self.attempt, random.random())  # noqa: S311 - jitter
            )
            self._retry_at.append(datetime.now(UTC) + delay)
        return self._retry_at[0]

    @property
    def is_last_attempt(self) -> bool:
        return self.attempt >= self.settings.retry_max_attempts


class Handler(Protocol):
    def handle(self, ctx: JobContext) -> dict[str, Any]: ...


_environment: tuple[int, Settings, JobQueue] | None = None


def _worker_environment(connection: Redis) -> tuple[Settings, JobQueue]:
    """Settings and queue access, built once per process (the work-horse is a fork: rebuild after it)."""
    global _environment
    if _environment is None or _environment[0] != os.getpid():
        settings = load_settings(role="worker")
        _environment = (os.getpid(), settings, JobQueue(connection, settings))
    return _environment[1], _environment[2]


def handler_for(kind: str) -> Handler:
    try:
        module_name = HANDLERS[kind]
    except KeyError:
        raise JobFailed(f"No handler is registered for jobs of kind {kind!r}") from None
    return importlib.import_module(module_name)  # type: ignore[return-value]


def run(kind: str, payload: dict[str, Any]) -> dict[str, Any]:
    """RQ calls this for every connector job (see app.queue.JOB_ENTRY_POINT)."""
    job = get_current_job()
    if job is None:
        raise RuntimeError("app.dispatch.run must run inside an RQ job")
    settings, jobs = _worker_environment(job.connection)
    # The webhook's correlation id (jobs queued by other jobs inherit theirs); periodic work starts its own.
    set_correlation_id(payload.get("correlation_id") or job.meta.get("correlation_id") or new_correlation_id())
    # The Xero calls this job makes go on its invoice's timeline (app.invoice_timeline), for the admin console.
    with invoice_timeline.working_on(payload.get("invoice_id")):
        return _run_locked(job, settings, jobs, kind, payload)


def _run_locked(job: Job, settings: Settings, jobs: JobQueue, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
    lock_scope = job.meta.get("lock_scope")
    coalesce_scope = job.meta.get("coalesce_scope")

    lock = None
    if lock_scope:
        lock = job.connection.lock(
            lock_key(lock_scope), timeout=settings.job_timeout_seconds + 60, blocking_timeout=LOCK_WAIT_SECONDS
        )
        # The lock holds the execution's id (as RQ's started registry names it), so a lock whose holder died
        # can be told apart from one whose holder is still running, and taken over at once.
        token = _execution_token(job)
        if not lock.acquire(token=token) and not (
            jobs.break_dead_lock(lock_scope) and lock.acquire(token=token, blocking=False)
        ):
            return _hand_over(job, jobs, kind, payload, coalesce_scope)
    try:
        if coalesce_scope:
            # From here on this job reads the current state, so later events need a job of their own.
            jobs.clear_pending(coalesce_scope, job.id)
        ctx = JobContext(
            kind=kind,
            payload=payload,
            job_id=job.id,
            attempt=int(payload.get("attempt", 1)),
            triggers=jobs.take_triggers(job.id),
            settings=settings,
            jobs=jobs,
            redis=job.connection,
        )
        subject = job_subject(kind, payload)
        joined = sorted({t["correlation_id"] for t in ctx.triggers if t.get("correlation_id")})
        log.info(
            "job started",
            extra={"job_id": job.id, **subject, "attempt": ctx.attempt, "events": len(ctx.triggers), "joined": joined},
        )
        started = time.monotonic()
        try:
            result = _run_handler(job, ctx, coalesce_scope)
        except JobFailed:
            metrics.job_finished(kind, "failed", time.monotonic() - started, None, ctx.triggers)
            raise
        metrics.job_finished(kind, result["outcome"], time.monotonic() - started, result, ctx.triggers)
        log.info("job finished", extra={"job_id": job.id, **subject, **_summary(result)})
        return result
    finally:
        if lock is not None:
            try:
                lock.release()
            except LockError:
                log.warning("invoice lock expired before the job finished", extra={"job_id": job.id})


# Payload fields that say what a job is about, logged with its start and outcome.
_SUBJECT_FIELDS = ("invoice_id", "connection_id", "line_id", "tenant_id", "resource_id")


def job_subject(kind: str, payload: Mapping[str, Any]) -> dict[str, Any]:
    """The job's kind and the ids of what it is about (the correlation id comes with every log line)."""
    return {"kind": kind, **{name: payload[name] for name in _SUBJECT_FIELDS if payload.get(name)}}


def _summary(result: Mapping[str, Any]) -> dict[str, Any]:
    """The outcome and, when the handler said, what it did: short values only, never a whole document."""
    keys = ("outcome", "result", "reason", "error", "retry_at", "until", "follow_up", "xero_number", "xero_status")
    return {key: result[key] for key in keys if key in result and isinstance(result[key], str | int | list)}


def _execution_token(job: Job) -> str:
    """This run's "<job id>:<execution id>" (a retried job has one execution per attempt: the newest is ours)."""
    executions = [execution for execution in _existing_executions(job) if execution.created_at]
    if not executions:
        return job.id
    return max(executions, key=lambda execution: execution.created_at).composite_key


def _existing_executions(job: Job) -> list[Execution]:
    """The job's executions that Redis still holds. RQ's own `get_executions` raises when one the registry names is
    gone, which a Redis crash under `appendfsync everysec` can leave behind (its last second lost)."""
    found = []
    for execution_id in job.execution_registry.get_execution_ids():
        try:
            found.append(Execution.fetch(id=execution_id, job_id=job.id, connection=job.connection))
        except ValueError:
            continue
    return found


def _run_handler(job: Job, ctx: JobContext, coalesce_scope: str | None) -> dict[str, Any]:
    try:
        handler = handler_for(ctx.kind)
    except JobFailed as exc:
        _fail(job, ctx, str(exc), exc)
    try:
        outcome = handler.handle(ctx)
    except Ignored as exc:
        return {"outcome": "ignored", "reason": exc.user_message}
    except Deferred as exc:
        follow_up = _resubmit(job, ctx, coalesce_scope, run_at=exc.run_at, attempt=ctx.attempt, reason="deferred")
        return {
            "outcome": "deferred",
            "until": exc.run_at.isoformat(),
            "follow_up": follow_up,
            "reason": exc.user_message,
        }
    except (Permanent, ConnectionLost) as exc:
        _fail(job, ctx, exc.user_message, exc, needs_a_person=True)
    except Retryable as exc:
        return _retry_or_fail(job, ctx, coalesce_scope, exc)
    except Exception as exc:  # an unexpected fault (a bug or an unknown answer): the one traceback, then retried
        log.exception("job raised an unexpected error", extra=job_subject(ctx.kind, ctx.payload))
        return _retry_or_fail(job, ctx, coalesce_scope, exc)
    return {"outcome": "done", **outcome}


def _retry_or_fail(job: Job, ctx: JobContext, coalesce_scope: str | None, exc: Exception) -> dict[str, Any]:
    if ctx.is_last_attempt:
        _fail(job, ctx, f"Gave up after {ctx.attempt} attempts: {exc}", exc)
    run_at = ctx.retry_at(exc)
    follow_up = _resubmit(job, ctx, coalesce_scope, run_at=run_at, attempt=ctx.attempt + 1, reason="retry")
    metrics.RETRIES.labels(ctx.kind).inc()
    return {"outcome": "retry_scheduled", "retry_at": run_at.isoformat(), "follow_up": follow_up, "error": str(exc)}


def _resubmit(
    job: Job, ctx: JobContext, coalesce_scope: str | None, *, run_at: datetime, attempt: int, reason: str
) -> str:
    payload = {**ctx.payload, "attempt": attempt}
    if ctx.connection_id:
        payload["connection_id"] = ctx.connection_id
    # The first event's time travels on, so end-to-end latency still counts from it after a retry.
    trigger = {"retry_of": job.id, "attempt": attempt, "first_event_at": metrics.earliest_event_time(ctx.triggers)}
    if coalesce_scope:
        return ctx.jobs.submit_coalesced(
            job.origin, ctx.kind, payload, scope=coalesce_scope, trigger=trigger, run_at=run_at, reason=reason
        ).job_id
    return ctx.jobs.submit(
        job.origin,
        ctx.kind,
        payload,
        trigger=trigger,
        lock_scope=job.meta.get("lock_scope"),
        run_at=run_at,
        reason=reason,
    ).job_id


def _hand_over(job: Job, jobs: JobQueue, kind: str, payload: dict[str, Any], coalesce_scope: str | None) -> dict:
    run_at = datetime.now(UTC) + HAND_OVER_DELAY
    if coalesce_scope:
        follow_up = jobs.hand_over(job.origin, kind, payload, scope=coalesce_scope, from_job_id=job.id, run_at=run_at)
    else:
        follow_up = jobs.submit(job.origin, kind, payload, lock_scope=job.meta.get("lock_scope"), run_at=run_at).job_id
    log.info("scope busy, handed over", extra={**job_subject(kind, payload), "follow_up": follow_up})
    metrics.JOBS.labels(kind, "handed_over").inc()
    return {"outcome": "handed_over", "follow_up": follow_up}


def _fail(job: Job, ctx: JobContext, reason: str, cause: BaseException, needs_a_person: bool = False) -> None:
    """Into RQ's failed registry. A failure a person must fix (bad data, a lost Xero authorisation) is one
    WARNING line: the reason says what to do, a traceback would say nothing more."""
    job.retries_left = 0  # classified as final: RQ must not retry it on its own
    if ctx.connection_id:
        job.meta["connection_id"] = ctx.connection_id  # the failed list counts it under its connection
        job.save_meta()
    extra = {"job_id": job.id, **job_subject(ctx.kind, ctx.payload), "outcome": "failed", "reason": reason}
    extra["error"] = type(cause).__name__
    log.log(logging.WARNING if needs_a_person else logging.ERROR, "job failed", extra=extra)
    raise JobFailed(reason) from cause
