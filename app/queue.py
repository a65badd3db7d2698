"""Queues, job ids, coalescing and redelivery detection: how an event becomes exactly one piece of work.

Coalescing (ARCHITECTURE.md, invariant 3). For each scope (one invoice, one Xero resource) Redis holds a
*pending* pointer to the job that will next read that scope's state. A new event for the scope joins that job
while it is still waiting; a job clears the pointer when it starts reading state (after taking the scope's
lock), so an event that arrives while it runs creates exactly one follow-up job, and the events after that join
the follow-up. A job only carries ids: it re-reads current state, so joining it loses nothing.

A pointer is only followed to a job that is really waiting: in its queue, taken by a worker, in the scheduled
registry, or running. A pointer to a job that is in none of these (its worker died, it expired) is replaced.
Redelivery detection, coalescing, the enqueue and the event's line on its invoice's timeline (app.invoice_timeline)
are one server-side script: one Redis round trip per event.

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
from rq import Queue, Retry
from rq.job import Job, JobStatus
from rq.scripts import _build_hset_args
from rq.utils import now, utcformat

from app.config import Settings
from app.invoice_timeline import TIMELINE_KEPT, TIMELINE_TTL_SECONDS, timeline_key, webhook_entry
from app.job_serializer import JobSerializer
from app.logs import get_correlation_id

QUEUE_DATAVERSE = "dataverse"
QUEUE_XERO = "xero"
QUEUE_MAINTENANCE = "maintenance"
ALL_QUEUES = (QUEUE_DATAVERSE, QUEUE_XERO, QUEUE_MAINTENANCE)

KEY_PREFIX = "connector"
JOB_ENTRY_POINT = "app.dispatch.run"

_PENDING_TTL_SECONDS = 7 * 24 * 3600
_TRIGGERS_KEPT = 50

# RQ's own retry only matters for a job whose worker died mid-run (RQ calls it "abandoned"); every other
# failure is classified by app.dispatch, which schedules its own retries.
ABANDONED_JOB_RETRY = Retry(max=3, interval=[0, 15, 60])  # the first retry at once: its lock is freed at once


@dataclass(frozen=True)
class EnqueueResult:
    status: Literal["queued", "coalesced", "duplicate"]
    job_id: str


def pending_key(scope: str) -> str:
    return f"{KEY_PREFIX}:pending:{scope}"


def seen_key(delivery_key: str) -> str:
    return f"{KEY_PREFIX}:seen:{delivery_key}"


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

# Deletes a scope lock whose holder (an RQ execution, "<job id>:<execution id>") is no longer running: RQ took
# it out of the started registry (it finished without releasing, or its worker died and it was found abandoned).
_BREAK_DEAD_LOCK = """
local holder = redis.call('GET', KEYS[1])
if not holder then return 1 end
local job_id = string.match(holder, '^([^:]+):')
if not job_id then return 0 end
local origin = redis.call('HGET', 'rq:job:' .. job_id, 'origin')
if origin and redis.call('ZSCORE', 'rq:wip:' .. origin, holder) then return 0 end
redis.call('DEL', KEYS[1])
return 1
"""

# The whole intake of one event, atomically and in one round trip: redelivery detection, joining the scope's
# waiting job (only if that job is really somewhere a worker will find it), or creating and placing a new job.
# The joined job's keys are derived inside the script (as RQ names them): fine on one Redis, which RQ needs.
#
# KEYS: 1 seen key or "", 2 pending key or "", 3 new job key, 4 queue key, 5 scheduled registry key,
#       6 the set of RQ queues, 7 the invoice's timeline key (app.invoice_timeline) or ""
# ARGV: 1 new job id, 2 "queue" | "schedule", 3 schedule timestamp, 4 pending/trigger TTL, 5 trigger JSON or "",
#       6 triggers kept, 7 "1" to run a scheduled job now, 8 seen TTL, 9 now (RQ's format),
#       10 timeline entry JSON, 11 timeline entries kept, 12 timeline TTL, 13.. job fields
_INTAKE = """
local job_id = ARGV[1]

-- The webhook on the invoice's timeline, with what became of it.
local function on_timeline(status, id)
  if KEYS[7] ~= '' then
    local entry = cjson.decode(ARGV[10])
    entry['status'] = status
    entry['job_id'] = id
    redis.call('RPUSH', KEYS[7], cjson.encode(entry))
    redis.call('LTRIM', KEYS[7], -tonumber(ARGV[11]), -1)
    redis.call('EXPIRE', KEYS[7], ARGV[12])
  end
end

if KEYS[1] ~= '' then
  local earlier = redis.call('GET', KEYS[1])
  if earlier then
    on_timeline('duplicate', earlier)
    return {'duplicate', earlier}
  end
end

local function add_trigger(id)
  if ARGV[5] ~= '' then
    local key = 'connector:triggers:' .. id
    redis.call('RPUSH', key, ARGV[5])
    redis.call('LTRIM', key, -tonumber(ARGV[6]), -1)
    redis.call('EXPIRE', key, ARGV[4])
  end
end

local function remember(id)
  if KEYS[1] ~= '' then redis.call('SET', KEYS[1], id, 'EX', ARGV[8]) end
end

-- Where a job is, as a worker will see it: false when it is in no queue or registry (a pointer to it is stale).
local function placed(id)
  local fields = redis.call('HMGET', 'rq:job:' .. id, 'status', 'origin')
  local status, origin = fields[1], fields[2]
  if not status or not origin then return false end
  local queue_key = 'rq:queue:' .. origin
  if status == 'queued' then
    if redis.call('LPOS', queue_key, id, 'RANK', -1) then return 'queued' end
    if redis.call('LPOS', queue_key .. ':intermediate', id) then return 'taken' end
  elseif status == 'scheduled' then
    if redis.call('ZSCORE', 'rq:scheduled:' .. origin, id) then return 'scheduled' end
  elseif status == 'started' then
    local found = redis.call('ZSCAN', 'rq:wip:' .. origin, 0, 'MATCH', id .. ':*', 'COUNT', 1000)
    if #found[2] > 0 then return 'started' end
  end
  return false
end

if KEYS[2] ~= '' then
  local existing = redis.call('GET', KEYS[2])
  if existing then
    local where = placed(existing)
    if where then
      add_trigger(existing)
      if where == 'scheduled' and ARGV[7] == '1' then
        -- A fresh change should not wait out a retry delay: run the waiting job now.
        local origin = redis.call('HGET', 'rq:job:' .. existing, 'origin')
        if redis.call('ZREM', 'rq:scheduled:' .. origin, existing) == 1 then
          redis.call('HSET', 'rq:job:' .. existing, 'status', 'queued', 'enqueued_at', ARGV[9])
          redis.call('RPUSH', 'rq:queue:' .. origin, existing)
        end
      end
      remember(existing)
      on_timeline('coalesced', existing)
      return {'coalesced', existing}
    end
  end
end

redis.call('HSET', KEYS[3], unpack(ARGV, 13))
redis.call('SADD', KEYS[6], KEYS[4])
if ARGV[2] == 'schedule' then
  redis.call('ZADD', KEYS[5], tonumber(ARGV[3]), job_id)
else
  redis.call('RPUSH', KEYS[4], job_id)
end
if KEYS[2] ~= '' then redis.call('SET', KEYS[2], job_id, 'EX', ARGV[4]) end
add_trigger(job_id)
remember(job_id)
on_timeline('queued', job_id)
return {'queued', job_id}
"""


class JobQueue:
    """The connector's view of RQ: submit work, coalesce it, and read queue depths."""

    def __init__(self, connection: Redis, settings: Settings) -> None:
        self.redis = connection
        self.settings = settings
        self._queues = {name: job_queue(name, connection) for name in ALL_QUEUES}
        self._clear_if_mine = connection.register_script(_CLEAR_IF_MINE)
        self._hand_over = connection.register_script(_HAND_OVER)
        self._intake = connection.register_script(_INTAKE)
        self._break_dead_lock = connection.register_script(_BREAK_DEAD_LOCK)

    def queue(self, name: str) -> Queue:
        return self._queues[name]

    def depths(self) -> dict[str, int]:
        return {name: queue.count for name, queue in self._queues.items()}

    def fetch(self, job_id: str) -> Job:
        return fetch_job(job_id, self.redis)

    # -- redelivery -------------------------------------------------------------------------------------

    def seen_before(self, delivery_key: str) -> str | None:
        """The job id an identical earlier delivery produced, if it was accepted."""
        value = self.redis.get(seen_key(delivery_key))
        return value.decode() if value else None

    def remember_delivery(self, delivery_key: str, job_id: str) -> None:
        self.redis.set(seen_key(delivery_key), job_id, ex=self.settings.dedupe_ttl_seconds)

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
        delivery_key: str | None = None,
        reason: str | None = None,
        timeline_invoice: str | None = None,
    ) -> EnqueueResult:
        """A job of its own, never joined with others (a Delete, a maintenance task).

        With a `timeline_invoice`, the event (`trigger`) goes on that invoice's timeline in the same round trip."""
        return self._submit(
            queue_name,
            kind,
            payload,
            None,
            lock_scope,
            trigger,
            run_at,
            delivery_key,
            reason,
            timeline_invoice=timeline_invoice,
        )

    def submit_coalesced(
        self,
        queue_name: str,
        kind: str,
        payload: Mapping[str, Any],
        *,
        scope: str,
        trigger: Mapping[str, Any] | None = None,
        run_at: datetime | None = None,
        delivery_key: str | None = None,
        reason: str | None = None,
        timeline_invoice: str | None = None,
    ) -> EnqueueResult:
        """Join the scope's waiting job, or create it. `run_at` delays a new job (a retry or a future date).

        With a `delivery_key`, a delivery seen before answers "duplicate" with the job it produced; with a
        `timeline_invoice`, the event goes on that invoice's timeline. All of it is one server-side script, so
        an event costs one Redis round trip.
        """
        return self._submit(
            queue_name,
            kind,
            payload,
            scope,
            scope,
            trigger,
            run_at,
            delivery_key,
            reason,
            timeline_invoice=timeline_invoice,
        )

    # -- used by running jobs ---------------------------------------------------------------------------

    def clear_pending(self, scope: str, job_id: str) -> None:
        self._clear_if_mine(keys=[pending_key(scope)], args=[job_id])

    def break_dead_lock(self, scope: str) -> bool:
        """Free the scope's lock if the run holding it is dead; True when the lock is free now."""
        return bool(self._break_dead_lock(keys=[lock_key(scope)]))

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
        follow_up = self._create_job(
            queue_name, kind, payload, lock_scope=scope, coalesce_scope=scope, reason="handed_over"
        )
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

    def _submit(
        self,
        queue_name: str,
        kind: str,
        payload: Mapping[str, Any],
        coalesce_scope: str | None,
        lock_scope: str | None,
        trigger: Mapping[str, Any] | None,
        run_at: datetime | None,
        delivery_key: str | None,
        reason: str | None = None,
        pipeline: Any = None,
        timeline_invoice: str | None = None,
    ) -> EnqueueResult:
        keys, args = self._intake_call(
            queue_name, kind, payload, coalesce_scope, lock_scope, trigger, run_at, delivery_key, reason
        )
        if timeline_invoice and trigger:
            keys[6] = timeline_key(timeline_invoice)
            args[9] = json.dumps(webhook_entry(trigger), default=str)
        if pipeline is not None:  # the caller executes the pipeline and reads the answer with `intake_result`
            self._intake(keys=keys, args=args, client=pipeline)
            return EnqueueResult("queued", "")
        return intake_result(self._intake(keys=keys, args=args))

    def submit_coalesced_in(
        self, pipeline: Any, queue_name: str, kind: str, payload: Mapping[str, Any], **how: Any
    ) -> None:
        """Queue a coalesced submission on a pipeline: many events in one round trip (a Xero batch). Each
        answer comes back from `pipeline.execute()`, read with `intake_result`."""
        self._submit(
            queue_name,
            kind,
            payload,
            how["scope"],
            how["scope"],
            how.get("trigger"),
            how.get("run_at"),
            how.get("delivery_key"),
            how.get("reason"),
            pipeline=pipeline,
        )

    def _intake_call(
        self,
        queue_name: str,
        kind: str,
        payload: Mapping[str, Any],
        coalesce_scope: str | None,
        lock_scope: str | None,
        trigger: Mapping[str, Any] | None,
        run_at: datetime | None,
        delivery_key: str | None,
        reason: str | None,
    ) -> tuple[list[str], list[Any]]:
        job = self._create_job(
            queue_name, kind, payload, lock_scope=lock_scope, coalesce_scope=coalesce_scope, reason=reason
        )
        queue = self.queue(queue_name)
        moment = now()
        scheduled = run_at is not None and run_at > datetime.now(UTC)
        if scheduled:
            job._status = JobStatus.SCHEDULED
        else:
            queue._prepare_for_queue(job)
        keys = [
            seen_key(delivery_key) if delivery_key else "",
            pending_key(coalesce_scope) if coalesce_scope else "",
            job.key,
            queue.key,
            queue.scheduled_job_registry.key,
            queue.redis_queues_keys,
            "",  # the invoice's timeline: set by `_submit` for a webhook about one invoice
        ]
        args = [
            job.id,
            "schedule" if scheduled else "queue",
            run_at.timestamp() if scheduled and run_at else 0,
            _PENDING_TTL_SECONDS,
            json.dumps(dict(trigger), default=str) if trigger else "",
            _TRIGGERS_KEPT,
            "0" if run_at is not None else "1",
            self.settings.dedupe_ttl_seconds,
            utcformat(moment),
            "",
            TIMELINE_KEPT,
            TIMELINE_TTL_SECONDS,
            *_build_hset_args(job),
        ]
        return keys, args

    def _create_job(
        self,
        queue_name: str,
        kind: str,
        payload: Mapping[str, Any],
        *,
        lock_scope: str | None,
        coalesce_scope: str | None,
        reason: str | None = None,
    ) -> Job:
        # `reason` says why a delayed job waits (retry, deferred, handed_over): counted by app.waiting.
        meta = {
            "kind": kind,
            "lock_scope": lock_scope,
            "coalesce_scope": coalesce_scope,
            "created_at": time.time(),
            # Work queued while handling an event (a webhook, another job) logs under that event's id.
            "correlation_id": get_correlation_id(),
        }
        if reason:
            meta["reason"] = reason
        return self.queue(queue_name).create_job(
            JOB_ENTRY_POINT,
            args=(kind, dict(payload)),
            job_id=f"{kind.replace('.', '_')}-{uuid.uuid4()}",
            timeout=self.settings.job_timeout_seconds,
            failure_ttl=30 * 24 * 3600,  # failed jobs stay listable for a month
            result_ttl=24 * 3600,
            retry=ABANDONED_JOB_RETRY,
            meta=meta,
        )

    def _place(self, job: Job, queue_name: str, pipe: Any, run_at: datetime | None) -> None:
        queue = self.queue(queue_name)
        if run_at is not None and run_at > datetime.now(UTC):
            queue.schedule_job(job, run_at, pipeline=pipe)
        else:
            queue.enqueue_job(job, pipeline=pipe)

    def _move_triggers(self, pipe: Any, from_job_id: str, to_job_id: str) -> None:
        for item in self.redis.lrange(triggers_key(from_job_id), 0, -1):
            pipe.rpush(triggers_key(to_job_id), item)
        pipe.expire(triggers_key(to_job_id), _PENDING_TTL_SECONDS)
        pipe.delete(triggers_key(from_job_id))


def intake_result(answer: Any) -> EnqueueResult:
    """The intake script's answer ({status, job id}) as an EnqueueResult."""
    status, job_id = (item.decode() if isinstance(item, bytes) else str(item) for item in answer)
    return EnqueueResult(status, job_id)  # type: ignore[arg-type]


def job_queue(name: str, connection: Redis) -> Queue:
    """An RQ queue of the connector's: its jobs are JSON (app.job_serializer), never pickles."""
    return Queue(name, connection=connection, serializer=JobSerializer)


def fetch_job(job_id: str, connection: Redis) -> Job:
    return Job.fetch(job_id, connection=connection, serializer=JobSerializer)


def fetch_jobs(job_ids: list[str], connection: Redis) -> list[Job]:
    """The jobs that still exist, in the order asked."""
    return [job for job in Job.fetch_many(job_ids, connection=connection, serializer=JobSerializer) if job]


def delay_for_attempt(settings: Settings, attempt: int, jitter: float) -> timedelta:
    """Exponential backoff: base * 2^(attempt-1), capped, with a +/-20% jitter (jitter in [0, 1))."""
    seconds = min(settings.retry_base_seconds * (2 ** max(attempt - 1, 0)), settings.retry_max_seconds)
    return timedelta(seconds=seconds * (0.8 + 0.4 * jitter))
