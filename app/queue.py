"""Queues, job ids, coalescing and redelivery detection: how an event becomes exactly one piece of work.

Coalescing (ARCHITECTURE.md, invariant 3). For each scope (one invoice, one Xero resource) Redis holds a
*pending* pointer to the job that will next read that scope's state. A new event for the scope joins that job
while it is still waiting; a job clears the pointer when it starts reading state (after taking the scope's
lock), so an event that arrives while it runs creates exactly one follow-up job, and the events after that join
the follow-up. A job only carries ids: it re-reads current state, so joining it loses nothing.

Deletes are never coalesced: their data comes from the pre-image, which only that event has.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from redis import Redis
from redis.exceptions import WatchError
from rq import Queue, Retry
from rq.job import Job, JobStatus

from app.config import Settings
from app.logs import get_correlation_id

QUEUE_DATAVERSE = "dataverse"
QUEUE_XERO = "xero"
QUEUE_MAINTENANCE = "maintenance"
ALL_QUEUES = (QUEUE_DATAVERSE, QUEUE_XERO, QUEUE_MAINTENANCE)

KEY_PREFIX = "connector"
JOB_ENTRY_POINT = "app.dispatch.run"

# A job that is still going to read its scope's state: events may join it.
_WAITING = {JobStatus.QUEUED, JobStatus.SCHEDULED, JobStatus.DEFERRED, JobStatus.STARTED, JobStatus.CREATED}
_PENDING_TTL_SECONDS = 7 * 24 * 3600
_TRIGGERS_KEPT = 50

# RQ's own retry only matters for a job whose worker died mid-run (RQ calls it "abandoned"); every other
# failure is classified by app.dispatch, which schedules its own retries.
ABANDONED_JOB_RETRY = Retry(max=3, interval=[15, 60, 300])


@dataclass(frozen=True)
class EnqueueResult:
    status: Literal["queued", "coalesced", "duplicate"]
    job_id: str


def pending_key(scope: str) -> str:
    return f"{KEY_PREFIX}:pending:{scope}"


def triggers_key(job_id: str) -> str:
    return f"{KEY_PREFIX}:triggers:{job_id}"


def lock_key(scope: str) -> str:
    return f"{KEY_PREFIX}:lock:{scope}"


def invoice_scope(organization_id: str, invoice_id: str) -> str:
    return f"invoice:{organization_id}:{invoice_id}"


def xero_resource_scope(tenant_id: str, category: str, resource_id: str) -> str:
    """One Xero resource: a webhook's job and a reconciliation's job for the same invoice join each other."""
    return f"xero:{tenant_id.lower()}:{category.upper()}:{resource_id.lower()}"


# Clears the pending pointer only if it still names this job (a later event may have replaced it).
_CLEAR_IF_MINE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
# Moves the pending pointer from this job to its follow-up, or says no when it no longer names this job.
_HAND_OVER = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
  return 1
end
return 0
"""


class JobQueue:
    """The connector's view of RQ: submit work, coalesce it, and read queue depths."""

    def __init__(self, connection: Redis, settings: Settings) -> None:
        self.redis = connection
        self.settings = settings
        self._queues = {name: Queue(name, connection=connection) for name in ALL_QUEUES}
        self._clear_if_mine = connection.register_script(_CLEAR_IF_MINE)
        self._hand_over = connection.register_script(_HAND_OVER)

    def queue(self, name: str) -> Queue:
        return self._queues[name]

    def depths(self) -> dict[str, int]:
        return {name: queue.count for name, queue in self._queues.items()}

    # -- redelivery -------------------------------------------------------------------------------------

    def seen_before(self, delivery_key: str) -> str | None:
        """The job id an identical earlier delivery produced, if it was accepted."""
        value = self.redis.get(f"{KEY_PREFIX}:seen:{delivery_key}")
        return value.decode() if value else None

    def remember_delivery(self, delivery_key: str, job_id: str) -> None:
        # Recorded after the enqueue: if Redis fails in between, the sender retries and coalescing absorbs it.
        self.redis.set(f"{KEY_PREFIX}:seen:{delivery_key}", job_id, ex=self.settings.dedupe_ttl_seconds)

    # -- submitting -------------------------------------------------------------------------------------

    def submit(
        self,
        queue_name: str,
        kind: str,
        payload: Mapping[str, Any],
        *,
        trigger: Mapping[str, Any] | None = None,
        lock_scope: str | None = None,
        run_at: datetime | None = None,
    ) -> EnqueueResult:
        """A job of its own, never joined with others (a Delete, a maintenance task)."""
        job = self._create_job(queue_name, kind, payload, lock_scope=lock_scope, coalesce_scope=None)
        with self.redis.pipeline() as pipe:
            self._place(job, queue_name, pipe, run_at)
            self._add_trigger(pipe, job.id, trigger)
            pipe.execute()
        return EnqueueResult("queued", job.id)

    def submit_coalesced(
        self,
        queue_name: str,
        kind: str,
        payload: Mapping[str, Any],
        *,
        scope: str,
        trigger: Mapping[str, Any] | None = None,
        run_at: datetime | None = None,
    ) -> EnqueueResult:
        """Join the scope's waiting job, or create it. `run_at` delays a new job (a retry or a future date)."""
        key = pending_key(scope)
        with self.redis.pipeline() as pipe:
            while True:
                try:
                    pipe.watch(key)
                    existing = pipe.get(key)
                    if existing is not None:
                        job_id = existing.decode()
                        status = self._status(job_id)
                        if status in _WAITING:
                            pipe.unwatch()
                            self._join(job_id, status, trigger, promote=run_at is None)
                            return EnqueueResult("coalesced", job_id)
                    job = self._create_job(queue_name, kind, payload, lock_scope=scope, coalesce_scope=scope)
                    pipe.multi()
                    self._place(job, queue_name, pipe, run_at)
                    pipe.set(key, job.id, ex=_PENDING_TTL_SECONDS)
                    self._add_trigger(pipe, job.id, trigger)
                    pipe.execute()
                    return EnqueueResult("queued", job.id)
                except WatchError:
                    continue  # another event for the same scope won the race: look again

    # -- used by running jobs ---------------------------------------------------------------------------

    def clear_pending(self, scope: str, job_id: str) -> None:
        self._clear_if_mine(keys=[pending_key(scope)], args=[job_id])

    def hand_over(
        self,
        queue_name: str,
        kind: str,
        payload: Mapping[str, Any],
        *,
        scope: str,
        from_job_id: str,
        run_at: datetime,
    ) -> str:
        """Give a job that cannot run now to a delayed follow-up that keeps its place as the pending job."""
        follow_up = self._create_job(queue_name, kind, payload, lock_scope=scope, coalesce_scope=scope)
        if not self._hand_over(keys=[pending_key(scope)], args=[from_job_id, follow_up.id, _PENDING_TTL_SECONDS]):
            # Another job is already pending for this scope and will read the state: join it instead.
            return self.submit_coalesced(queue_name, kind, payload, scope=scope, run_at=run_at).job_id
        with self.redis.pipeline() as pipe:
            self._place(follow_up, queue_name, pipe, run_at)
            self._move_triggers(pipe, from_job_id, follow_up.id)
            pipe.execute()
        return follow_up.id

    def take_triggers(self, job_id: str) -> list[dict[str, Any]]:
        """The events that led to this job (oldest first), for logs and the sync history."""
        key = triggers_key(job_id)
        with self.redis.pipeline() as pipe:
            pipe.lrange(key, 0, -1)
            pipe.delete(key)
            raw, _ = pipe.execute()
        return [json.loads(item) for item in raw]

    # -- internals --------------------------------------------------------------------------------------

    def _create_job(
        self,
        queue_name: str,
        kind: str,
        payload: Mapping[str, Any],
        *,
        lock_scope: str | None,
        coalesce_scope: str | None,
    ) -> Job:
        return self.queue(queue_name).create_job(
            JOB_ENTRY_POINT,
            # Work queued while handling an event (a webhook, another job) carries that event's correlation id.
            args=(kind, {"correlation_id": get_correlation_id(), **payload} if get_correlation_id() else dict(payload)),
            job_id=f"{kind.replace('.', '_')}-{uuid.uuid4()}",
            timeout=self.settings.job_timeout_seconds,
            failure_ttl=30 * 24 * 3600,  # failed jobs stay listable for a month
            result_ttl=24 * 3600,
            retry=ABANDONED_JOB_RETRY,
            meta={"kind": kind, "lock_scope": lock_scope, "coalesce_scope": coalesce_scope, "created_at": time.time()},
        )

    def _place(self, job: Job, queue_name: str, pipe: Any, run_at: datetime | None) -> None:
        queue = self.queue(queue_name)
        if run_at is not None and run_at > datetime.now(UTC):
            queue.schedule_job(job, run_at, pipeline=pipe)
        else:
            queue.enqueue_job(job, pipeline=pipe)

    def _status(self, job_id: str) -> JobStatus | None:
        raw = self.redis.hget(Job.key_for(job_id), "status")
        try:
            return JobStatus(raw.decode()) if raw else None
        except ValueError:
            return None

    def _join(self, job_id: str, status: JobStatus, trigger: Mapping[str, Any] | None, *, promote: bool) -> None:
        with self.redis.pipeline() as pipe:
            self._add_trigger(pipe, job_id, trigger)
            pipe.execute()
        if promote and status == JobStatus.SCHEDULED:
            # A fresh change should not wait out a retry delay: run the waiting job now. If the scheduler
            # moved it first, the removal finds nothing and nothing more is done.
            job = Job.fetch(job_id, connection=self.redis)
            queue = self.queue(job.origin)
            if queue.scheduled_job_registry.remove(job_id):
                queue.enqueue_job(job)

    @staticmethod
    def _add_trigger(pipe: Any, job_id: str, trigger: Mapping[str, Any] | None) -> None:
        if not trigger:
            return
        key = triggers_key(job_id)
        pipe.rpush(key, json.dumps(dict(trigger), default=str))
        pipe.ltrim(key, -_TRIGGERS_KEPT, -1)
        pipe.expire(key, _PENDING_TTL_SECONDS)

    def _move_triggers(self, pipe: Any, from_job_id: str, to_job_id: str) -> None:
        for item in self.redis.lrange(triggers_key(from_job_id), 0, -1):
            pipe.rpush(triggers_key(to_job_id), item)
        pipe.expire(triggers_key(to_job_id), _PENDING_TTL_SECONDS)
        pipe.delete(triggers_key(from_job_id))


def delay_for_attempt(settings: Settings, attempt: int, jitter: float) -> timedelta:
    """Exponential backoff: base * 2^(attempt-1), capped, with a +/-20% jitter (jitter in [0, 1))."""
    seconds = min(settings.retry_base_seconds * (2 ** max(attempt - 1, 0)), settings.retry_max_seconds)
    return timedelta(seconds=seconds * (0.8 + 0.4 * jitter))
