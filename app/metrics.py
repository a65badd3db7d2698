"""Prometheus metrics: what the connector counts, and `/metrics` to read them.

Every process of a machine (gunicorn's workers, the RQ worker and the work-horses it forks for each job) writes
its samples into `PROMETHEUS_MULTIPROC_DIR` (prometheus_client's multiprocess mode); `/metrics` adds them up.
The container entrypoint and `make run` create that directory empty at start. A work-horse writes under its
worker's name rather than its own pid, so one worker leaves one set of files however many jobs it runs.

Instrumentation stays one call at the existing choke points: the dispatcher (jobs, retries, outcomes,
latency), the webhook endpoints (answers), the Xero gateway and its limiter (calls, 429s, waits, headroom),
the token endpoint (refreshes) and the reconciliation (recoveries). Organisation labels are Xero tenant ids.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flask import Blueprint, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
    values,
)

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

# Seconds from an event to its effect on the other side: from a second to the hours a deferred invoice waits.
LATENCY_BUCKETS = (0.5, 1, 2, 5, 10, 30, 60, 120, 300, 900, 3600, 4 * 3600, 24 * 3600)

WEBHOOKS = Counter(
    "connector_webhooks_total", "Webhook deliveries answered, by source and HTTP status", ["source", "answer"]
)
JOBS = Counter("connector_jobs_total", "Jobs run, by kind and outcome", ["kind", "outcome"])
JOB_SECONDS = Histogram("connector_job_duration_seconds", "Time a job ran, by kind", ["kind"])
SYNC_RESULTS = Counter(
    "connector_sync_results_total",
    "What finished jobs did (create, update, unchanged, ineligible, paid, ...), by kind",
    ["kind", "result"],
)
RETRIES = Counter("connector_job_retries_total", "Retries scheduled after a passing fault, by kind", ["kind"])
XERO_CALLS = Counter(
    "connector_xero_calls_total", "Xero API calls, by organisation and outcome", ["tenant_id", "outcome"]
)
XERO_429 = Counter("connector_xero_rate_limited_total", "Xero answers 429, by organisation", ["tenant_id"])
LIMITER_WAITS = Histogram(
    "connector_xero_limiter_wait_seconds",
    "Time a worker waited for one of an organisation's Xero call slots, by reason",
    ["tenant_id", "reason"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5),
)
LIMITER_GAVE_UP = Counter(
    "connector_xero_limiter_busy_total",
    "Calls handed back to the queue (retry later or deferred) because an organisation's limit was reached",
    ["tenant_id", "reason"],
)
HEADROOM = Gauge(
    "connector_xero_calls_left",
    "Xero calls an organisation has left in the current minute and day, after the latest call",
    ["tenant_id", "window"],
    multiprocess_mode="mostrecent",
)
TOKEN_REFRESHES = Counter(
    "connector_xero_token_refreshes_total", "Xero token grants asked for, by grant and outcome", ["grant", "outcome"]
)
RECOVERIES = Counter(
    "connector_reconciliation_recoveries_total",
    "Jobs the reconciliation queued for changes no waiting job covered (a lost webhook's work, or a change "
    "already handled, seen again), by side",
    ["side"],
)
# Every metric has a label, so its samples are only created when first recorded: after a worker has named its
# work-horses (`name_work_horses_after`), never at import under the pid of whichever process imported it.
DYNAMICS_TO_XERO = Histogram(
    "connector_dynamics_to_xero_seconds",
    "From saving an invoice in Dynamics to its document written in Xero, by job kind",
    ["kind"],
    buckets=LATENCY_BUCKETS,
)
XERO_TO_DYNAMICS = Histogram(
    "connector_xero_to_dynamics_seconds",
    "From a change in Xero (its webhook's event time) to its write-back in Dynamics, by job kind",
    ["kind"],
    buckets=LATENCY_BUCKETS,
)

# Results of jobs that changed the other side, i.e. where an end-to-end latency is measured.
_WROTE_TO_XERO = {"create", "update", "cancel:delete", "cancel:void", "cancel:credit", "deleted", "voided"}
_WROTE_TO_DYNAMICS = {"paid", "updated"}
# Trigger fields holding when the originating event happened, best first.
_EVENT_TIME_FIELDS = ("operation_created_on", "event_date_utc", "first_event_at", "received_at")


# ---- process set-up ------------------------------------------------------------------------------------------


def multiprocess_enabled() -> bool:
    return bool(os.environ.get(MULTIPROC_ENV))


def name_work_horses_after(worker_pid: int) -> None:
    """In an RQ worker: its forked work-horses (one per job, one at a time) share one set of sample files named
    after the worker, instead of leaving files for every pid that ever ran a job."""
    if not multiprocess_enabled():
        return

    def identifier() -> str | int:
        pid = os.getpid()
        return pid if pid == worker_pid else f"{worker_pid}-horse"

    values.ValueClass = values.MultiProcessValue(process_identifier=identifier)  # type: ignore[arg-type]


def fresh_metrics_dir(path: str | None = None) -> str:
    """The multiprocess directory for a new run, emptied (old files would be added to the new counts); a private
    temporary one when no path is given. What `make run` does; the container entrypoint does the same in sh."""
    if path is None:
        return tempfile.mkdtemp(prefix="connector-metrics-")
    Path(path).mkdir(parents=True, exist_ok=True)
    for stale in Path(path).glob("*.db"):
        stale.unlink()
    return path


def registry() -> CollectorRegistry:
    """Every process's samples when multiprocess mode is on, else this process's."""
    if not multiprocess_enabled():
        return REGISTRY
    collected = CollectorRegistry()
    multiprocess.MultiProcessCollector(collected)
    return collected


def process_exited(pid: int) -> None:
    """gunicorn's child_exit hook: forget the live gauges of a worker that is gone."""
    if multiprocess_enabled():
        multiprocess.mark_process_dead(pid)


blueprint = Blueprint("metrics", __name__)


@blueprint.get("/metrics")
def scrape() -> Response:
    return Response(generate_latest(registry()), mimetype=CONTENT_TYPE_LATEST)


# ---- one-line instrumentation ------------------------------------------------------------------------------


def webhook_answers(source: str) -> Callable[[Response], Response]:
    """An after_request hook for a webhook blueprint: counts every answer, whichever branch gave it."""

    def count(response: Response) -> Response:
        WEBHOOKS.labels(source, str(response.status_code)).inc()
        return response

    return count


def _event_time(trigger: Mapping[str, Any]) -> float | None:
    for name in _EVENT_TIME_FIELDS:
        value = trigger.get(name)
        if isinstance(value, int | float) and value > 0:
            return float(value)
        if isinstance(value, str) and value:
            try:
                moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                continue
            return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()
    return None


def earliest_event_time(triggers: Iterable[Mapping[str, Any]]) -> float | None:
    """When the oldest event a job carries happened (None when no trigger says)."""
    times = [t for t in (_event_time(trigger) for trigger in triggers) if t is not None]
    return min(times) if times else None


def job_finished(
    kind: str, outcome: str, seconds: float, result: Mapping[str, Any] | None, triggers: list[dict[str, Any]]
) -> None:
    """The dispatcher's one call per job: outcome, duration, what it did and, when it changed the other side,
    how long after the event that caused it."""
    JOBS.labels(kind, outcome).inc()
    JOB_SECONDS.labels(kind).observe(seconds)
    if outcome != "done" or not result:
        return
    done = result.get("result")
    if isinstance(done, list):
        done = done[0] if done else None
    if not isinstance(done, str):
        return
    SYNC_RESULTS.labels(kind, done).inc()
    started = earliest_event_time(triggers)
    if started is None:
        return
    elapsed = max(datetime.now(UTC).timestamp() - started, 0.0)
    if kind in ("invoice.sync", "invoice.delete") and done in _WROTE_TO_XERO:
        DYNAMICS_TO_XERO.labels(kind).observe(elapsed)
    elif kind in ("xero.invoice", "xero.creditnote") and done in _WROTE_TO_DYNAMICS:
        XERO_TO_DYNAMICS.labels(kind).observe(elapsed)


def xero_call(tenant_id: str, error: BaseException | None = None, answer: BaseException | None = None) -> None:
    """The gateway's one call per Xero API call: its outcome (the error class it was classified as), and Xero's
    429s counted apart (`answer` is the SDK's exception)."""
    XERO_CALLS.labels(tenant_id, "ok" if error is None else type(error).__name__).inc()
    if getattr(answer, "status", None) == 429:
        XERO_429.labels(tenant_id).inc()


def calls_left(tenant_id: str, minute: int, day: int) -> None:
    HEADROOM.labels(tenant_id, "minute").set(minute)
    HEADROOM.labels(tenant_id, "day").set(day)


def reconciliation_queued(side: str, status: str) -> None:
    """A reconciliation pass submitted a job; "queued" means no waiting job already covered the change."""
    if status == "queued":
        RECOVERIES.labels(side).inc()
