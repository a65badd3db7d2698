"""Queues and workers: per queue the jobs waiting, scheduled, running and failed and how long the oldest has
waited; per worker what it serves and does."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from flask import render_template
from rq import Worker

from app.admin import blueprint, job_views
from app.admin.context import jobs
from app.queue import ALL_QUEUES


@dataclass(frozen=True)
class QueueStats:
    name: str
    waiting: int
    scheduled: int
    running: int
    failed: int
    oldest_waiting_seconds: float | None


@dataclass(frozen=True)
class WorkerRow:
    name: str
    state: str
    queues: str
    current_job: str
    last_seen_seconds: float | None


def queue_stats(now: datetime) -> list[QueueStats]:
    queue_access = jobs()
    stats = []
    for name in ALL_QUEUES:
        queue = queue_access.queue(name)
        stats.append(
            QueueStats(
                name=name,
                waiting=queue.count,
                scheduled=queue.scheduled_job_registry.count,
                running=queue.started_job_registry.count,
                failed=queue.failed_job_registry.count,
                oldest_waiting_seconds=job_views.oldest_waiting_seconds(queue, now),
            )
        )
    return stats


def workers(now: datetime) -> list[WorkerRow]:
    rows = []
    for worker in Worker.all(connection=jobs().redis):
        heartbeat = worker.last_heartbeat
        if heartbeat is not None and heartbeat.tzinfo is None:
            heartbeat = heartbeat.replace(tzinfo=UTC)
        rows.append(
            WorkerRow(
                name=worker.name,
                state=str(worker.get_state()),
                queues=", ".join(worker.queue_names()),
                current_job=worker.get_current_job_id() or "",
                last_seen_seconds=(now - heartbeat).total_seconds() if heartbeat else None,
            )
        )
    return rows


@blueprint.get("/queues")
def queues_page() -> str:
    now = datetime.now(UTC)
    return render_template("admin/queues.html", queues=queue_stats(now), workers=workers(now))
