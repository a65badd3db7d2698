"""What is waiting, per queue and per connection: queued, running, retrying, deferred and failed jobs.

Shown by GET /readyz and `python -m app.jobs waiting`, so that work held back by a fault (Xero answering 503,
a rate limit, a future date) is visible before anyone asks where an invoice went. A delayed job says why it
waits in its meta (`reason`, set by app.dispatch); its connection is the one in its payload, else the one the
job noted, else the Dynamics organisation it came from.
"""

from __future__ import annotations

import zlib
from collections import Counter, defaultdict
from typing import Any

from redis import Redis
from rq import Queue

from app.job_serializer import JobSerializer
from app.queue import ALL_QUEUES, job_queue

COUNTED_PER_REGISTRY = 5000  # beyond this a registry's jobs are counted per queue but not per connection

_DELAY_KINDS = {"retry": "retrying", "deferred": "deferred", "handed_over": "deferred"}


def _connection_label(meta: dict[str, Any], args: Any) -> str:
    payload = args[1] if isinstance(args, list) and len(args) > 1 and isinstance(args[1], dict) else {}
    connection = payload.get("connection_id") or meta.get("connection_id")
    if connection:
        return str(connection)
    organization = payload.get("organization_id")
    return f"dynamics organization {organization}" if organization else "(none)"


def _jobs_meta(connection: Redis, job_ids: list[str]) -> list[tuple[dict[str, Any], Any]]:
    """Meta and arguments of many jobs in one round trip (arguments only when the meta names no connection)."""
    with connection.pipeline() as pipe:
        for job_id in job_ids[:COUNTED_PER_REGISTRY]:
            pipe.hmget(f"rq:job:{job_id}", "meta", "data")
        rows = pipe.execute()
    found = []
    for meta_raw, data_raw in rows:
        if meta_raw is None:
            continue
        try:
            meta = JobSerializer.loads(meta_raw)
            args = _args(data_raw) if "connection_id" not in meta else None
        except ValueError:
            meta, args = {}, None
        found.append((meta, args))
    return found


def _args(data_raw: bytes | None) -> Any:
    if not data_raw:
        return None
    try:
        data = zlib.decompress(data_raw)
    except zlib.error:
        data = data_raw
    return JobSerializer.loads(data)[2]  # (func, instance, args, kwargs)


def summary(connection: Redis) -> dict[str, Any]:
    queues: dict[str, dict[str, int]] = {}
    per_connection: dict[str, Counter[str]] = defaultdict(Counter)
    for name in ALL_QUEUES:
        queue: Queue = job_queue(name, connection)
        counts: Counter[str] = Counter(queued=queue.count, running=queue.started_job_registry.count)
        for meta, args in _jobs_meta(connection, queue.scheduled_job_registry.get_job_ids()):
            kind = _DELAY_KINDS.get(str(meta.get("reason")), "deferred")
            counts[kind] += 1
            per_connection[_connection_label(meta, args)][kind] += 1
        failed_ids = queue.failed_job_registry.get_job_ids()
        counts["failed"] = len(failed_ids)
        for meta, args in _jobs_meta(connection, failed_ids):
            per_connection[_connection_label(meta, args)]["failed"] += 1
        queues[name] = {key: counts[key] for key in ("queued", "running", "retrying", "deferred", "failed")}
    return {
        "queues": queues,
        "connections": {label: dict(sorted(counts.items())) for label, counts in sorted(per_connection.items())},
    }
