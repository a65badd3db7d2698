"""RQ's worker, made so that no job is stranded when a worker process dies (ARCHITECTURE.md, invariant 11).

Three gaps in RQ as it comes, each closed here:

* **Taken but not started.** A worker on several queues takes a job with BLPOP: until it records the job as
  started, the job is in no queue or registry, so a worker killed in that moment loses it for good. Here every
  take moves the job into its queue's *intermediate* list (one script over all queues, in priority order), the
  job leaves that list only once it is recorded as started, and a sweep puts back any job left there longer
  than a few maintenance periods by a dead worker.
* **Killed while running.** RQ finds such a job "abandoned" when its execution's heartbeat lapses and retries
  it; heartbeats here lapse after seconds, not minutes, and maintenance runs every few seconds.
* **The scheduler's worker dies.** RQ's scheduler (retries, delays, hand-overs) runs beside one worker under a
  lock that others only retry every ten minutes, and the dead one's lock lives another minute. Here every
  maintenance pass breaks a lock whose scheduler has stopped its heartbeat and takes the scheduler over.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Sequence
from typing import Any

from redis import Redis
from rq import Queue, Worker, worker_registration
from rq.exceptions import DequeueTimeout
from rq.job import Job, JobStatus
from rq.registry import clean_registries
from rq.scheduler import RQScheduler
from rq.utils import now

from app.job_serializer import JobSerializer

log = logging.getLogger(__name__)

IDLE_WAIT_SECONDS = 0.5  # an idle worker blocks on its first queue and looks at the others this often

# Take the first job of the first non-empty queue into that queue's intermediate list, atomically.
_TAKE = """
for _, queue_key in ipairs(KEYS) do
  local job_id = redis.call('LMOVE', queue_key, queue_key .. ':intermediate', 'LEFT', 'RIGHT')
  if job_id then return {queue_key, job_id} end
end
return false
"""
# Put a job a dead worker took back at the head of its queue, unless someone else already did.
_PUT_BACK = """
if redis.call('LREM', KEYS[1], 1, ARGV[1]) == 1 then
  redis.call('LPUSH', KEYS[2], ARGV[1])
  return 1
end
return 0
"""
# Break a scheduler lock its owner stopped refreshing (it refreshes the lock's TTL every beat).
_BREAK_STALE_LOCK = """
local owner = redis.call('GET', KEYS[1])
if owner and owner ~= ARGV[1] and redis.call('TTL', KEYS[1]) < tonumber(ARGV[2]) then
  redis.call('DEL', KEYS[1])
  return owner
end
return false
"""


def _first_seen_key(job_id: str) -> str:
    return f"connector:taken-since:{job_id}"


class DurableQueue(Queue):
    """An RQ queue whose dequeue always leaves a trace (the intermediate list) until the job is started."""

    @classmethod
    def dequeue_any(
        cls,
        queues: Iterable[Queue],
        timeout: int | None,
        connection: Redis,
        job_class: type[Job] | None = None,
        serializer: Any = None,
        death_penalty_class: Any = None,
    ) -> tuple[Job, Queue] | None:
        queue_keys = [queue.key for queue in queues]
        take = connection.register_script(_TAKE)
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            taken = take(keys=queue_keys)
            if not taken and deadline is not None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise DequeueTimeout(timeout, queue_keys)
                first = queue_keys[0]
                job_id = connection.blmove(
                    first, f"{first}:intermediate", max(min(remaining, IDLE_WAIT_SECONDS), 0.01), "LEFT", "RIGHT"
                )
                taken = [first, job_id] if job_id else None
            if not taken:
                if deadline is None:
                    return None
                continue
            queue_key, job_id = (item.decode() if isinstance(item, bytes) else item for item in taken)
            fetched = cls._fetch_dequeued_job(
                connection,
                queue_key,
                job_id,
                job_class=job_class,
                serializer=serializer,
                death_penalty_class=death_penalty_class,
            )
            if fetched is None:  # the job expired while queued: nothing to run, nothing to keep
                connection.lrem(f"{queue_key}:intermediate", 1, job_id)
                continue
            return fetched


class DurableWorker(Worker):
    """`recovery_seconds` (WORKER_RECOVERY_SECONDS): how often maintenance runs; the other bounds follow from it."""

    queue_class = DurableQueue

    def __init__(self, queues: Sequence[str], *args: Any, recovery_seconds: int = 5, **kwargs: Any) -> None:
        kwargs.setdefault("serializer", JobSerializer)
        kwargs.setdefault("maintenance_interval", recovery_seconds)
        kwargs.setdefault("job_monitoring_interval", recovery_seconds)  # how often a busy worker beats
        super().__init__(queues, *args, **kwargs)
        # A live worker starts a taken job within milliseconds; a beating worker renews within one period.
        self.stranded_after = max(3 * recovery_seconds, 2)
        self.abandoned_after = 4 * recovery_seconds
        # RQ's scheduler renews its lock every second.
        self.scheduler_dead_after = max(2 * recovery_seconds, 3)
        self._put_back = self.connection.register_script(_PUT_BACK)
        self._break_stale_lock = self.connection.register_script(_BREAK_STALE_LOCK)

    @property
    def dequeue_timeout(self) -> int:
        # Back in the worker's loop at least once a maintenance period, so it beats and sweeps while idle.
        return max(1, int(self.maintenance_interval))

    def prepare_job_execution(self, job: Job, remove_from_intermediate_queue: bool = False) -> None:
        # Every take goes through the intermediate list (RQ only does so for single-queue workers).
        super().prepare_job_execution(job, remove_from_intermediate_queue=True)

    def get_heartbeat_ttl(self, job: Job, working_time: float = 0.0) -> int:
        interval = self.job_monitoring_interval
        if job.timeout and job.timeout > 0:
            interval = int(min(job.timeout - working_time, interval))
        return max(interval, 1) + self.abandoned_after

    def run_maintenance_tasks(self) -> None:
        self.take_over_dead_scheduler()
        super().run_maintenance_tasks()

    def clean_registries(self) -> None:
        """RQ's registry cleaning (abandoned jobs included), with our sweep instead of RQ's intermediate one.

        RQ's own fails a job left in the intermediate list after a minute; ours puts it back after seconds.
        """
        for queue in self.queues:
            if queue.acquire_maintenance_lock():
                try:
                    clean_registries(queue, self._exc_handlers)
                    worker_registration.clean_worker_registry(queue)
                finally:
                    queue.release_maintenance_lock()
        self.put_back_stranded_jobs()
        self.last_cleaned_at = now()

    # -- taken but never started -------------------------------------------------------------------------

    def put_back_stranded_jobs(self) -> list[str]:
        put_back = []
        for queue in self.queues:
            intermediate = queue.intermediate_queue_key
            for raw_id in self.connection.lrange(intermediate, 0, -1):
                job_id = raw_id.decode()
                if self._is_running(queue, job_id):
                    continue
                status = self.connection.hget(Job.key_for(job_id), "status")
                if status != JobStatus.QUEUED.value.encode():
                    # Gone, or accounted for elsewhere (finished, failed, retried): only the trace is left.
                    self.connection.lrem(intermediate, 1, job_id)
                    continue
                self.connection.set(_first_seen_key(job_id), time.time(), nx=True, ex=3600)
                first_seen = self.connection.get(_first_seen_key(job_id))
                if first_seen is None or time.time() - float(first_seen) < self.stranded_after:
                    continue
                if self._put_back(keys=[intermediate, queue.key], args=[job_id]):
                    self.connection.delete(_first_seen_key(job_id))
                    put_back.append(job_id)
                    log.warning("a job taken by a worker that died was put back", extra={"job_id": job_id})
        return put_back

    def _is_running(self, queue: Queue, job_id: str) -> bool:
        _, members = self.connection.zscan(queue.started_job_registry.key, 0, match=f"{job_id}:*", count=1000)
        return bool(members)

    # -- the scheduler's worker died -----------------------------------------------------------------------

    def take_over_dead_scheduler(self) -> None:
        if self.scheduler is None:
            return
        # RQ's scheduler sets its lock to live `interval + 60` seconds and renews it every `interval`.
        full_ttl = self.scheduler.interval + 60
        for name in self.queue_names():
            broken = self._break_stale_lock(
                keys=[RQScheduler.get_locking_key(name)],
                args=[self.scheduler.name, full_ttl - self.scheduler_dead_after],
            )
            if broken:
                log.warning("the scheduler of a dead worker is taken over", extra={"queue": name})
        process = self.scheduler._process
        if process is None or not process.is_alive():
            self.scheduler.acquire_locks(auto_start=True)
