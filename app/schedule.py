"""Periodic work (nightly reference data, token refresh, reconciliation): what runs when.

`python -m app.scheduler` runs RQ's CronScheduler over `PERIODIC`. Each tick does not do the work itself: it
submits the job kind through the coalescing queue with one scope per kind, so several scheduler processes (or a
slow run still waiting) never pile up duplicate runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rq import get_current_job

from app.config import Settings, load_settings, settings_or_defaults
from app.queue import QUEUE_MAINTENANCE, JobQueue
from handlers import xero_tokens_refresh


@dataclass(frozen=True)
class Periodic:
    kind: str  # a job kind registered in app.dispatch.HANDLERS
    queue: str
    description: str
    interval_seconds: int | None = None
    cron: str | None = None  # UTC, e.g. "0 2 * * *"
    payload: dict[str, Any] = field(default_factory=dict)


def periodic_work(settings: Settings) -> list[Periodic]:
    """What runs when, for these settings. Flows register their periodic work here."""
    return [
        Periodic(
            kind="reference_data.nightly",
            queue=QUEUE_MAINTENANCE,
            description="Queue every connection's import of Xero reference data into Dynamics",
            cron=settings.reference_data_cron,
        ),
        Periodic(
            kind="reconcile",
            queue=QUEUE_MAINTENANCE,
            description="Find invoice changes whose webhooks were lost, in Xero and in Dynamics, and queue them",
            interval_seconds=settings.reconcile_interval_seconds,
        ),
        xero_tokens_refresh.periodic(settings),
    ]


# Built at import (the scheduler registers it, a worker's tick looks its kind up). An invalid value falls back to
# its default here, never a traceback at import: the process's start-up check names the problem and stops it.
PERIODIC: list[Periodic] = periodic_work(settings_or_defaults())


def periodic_scope(kind: str) -> str:
    return f"periodic:{kind}"


def tick(kind: str) -> str:
    """Run by a worker when the scheduler says `kind` is due: queue one run of it (or join the waiting one)."""
    job = get_current_job()
    if job is None:
        raise RuntimeError("app.schedule.tick must run inside an RQ job")
    entry = next((p for p in PERIODIC if p.kind == kind), None)
    if entry is None:
        return f"{kind} is no longer scheduled"
    jobs = JobQueue(job.connection, load_settings(role="worker"))
    result = jobs.submit_coalesced(
        entry.queue, kind, dict(entry.payload), scope=periodic_scope(kind), trigger={"scheduled": kind}
    )
    return f"{kind}: {result.status} {result.job_id}"
