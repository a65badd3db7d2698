"""One invoice's timeline in time order: the webhooks received for it, its jobs, the Xero calls they made and the
Sync History rows they wrote, each as one line a finance admin can read."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from app.admin.formatting import as_datetime

if TYPE_CHECKING:
    from app.admin.activity import Attempt
    from app.admin.job_views import JobRow

_TABLES = {"invoice": "invoice", "invoicedetail": "invoice line"}
_WEBHOOK_STATUS = {
    "queued": "a job was queued",
    "coalesced": "joined the job already waiting",
    "duplicate": "a redelivery, already handled",
}


@dataclass(frozen=True)
class Moment:
    at: datetime | None
    source: str  # Dynamics / Xero / Job / Sync History
    what: str
    outcome: str  # a badge: Success, Failed, ... or ""
    details: str

    def sort_key(self) -> tuple[datetime, int]:
        at = self.at or _EARLIEST
        if self.source == "Sync History" and at.microsecond == 0:
            # Dynamics keeps these to the second; the row was written after the calls made in that second.
            at += timedelta(microseconds=999_999)
        return at, _SOURCE_ORDER.get(self.source, len(_SOURCE_ORDER))


def webhook_moment(entry: Mapping[str, Any]) -> Moment:
    status = str(entry.get("status") or "")
    table = _TABLES.get(str(entry.get("table")), entry.get("table") or "row")
    became = _WEBHOOK_STATUS.get(status, status)
    return Moment(
        at=as_datetime(entry.get("at")),
        source="Dynamics",
        what=f"Dynamics: {entry.get('message') or 'Change'} of {table} received → {became}",
        outcome="",
        details=_correlation(entry),
    )


def xero_call_moment(entry: Mapping[str, Any]) -> Moment:
    status, error = entry.get("status"), entry.get("error")
    answer = " ".join(str(part) for part in (status, error) if part) or "no answer"
    what = f"Xero: {entry.get('method') or ''} {entry.get('path') or ''} → {answer} in {entry.get('duration_ms')} ms"
    return Moment(
        at=as_datetime(entry.get("at")),
        source="Xero",
        what=" ".join(what.split()),
        outcome="Failed" if error else "",
        details=_correlation(entry),
    )


def job_moment(row: JobRow) -> Moment:
    outcome = f": {row.outcome}" if row.outcome else ""
    return Moment(
        at=as_datetime(row.created_at),
        source="Job",
        what=f"Job queued: {row.what} (attempt {row.attempt}), now {row.status}{outcome}",
        outcome="",
        details=row.id,
    )


def attempt_moment(attempt: Attempt) -> Moment:
    return Moment(
        at=as_datetime(attempt.occurred_on),
        source="Sync History",
        what=f"Written to Dynamics: {attempt.action}",
        outcome=attempt.outcome,
        details=attempt.details,
    )


def _correlation(entry: Mapping[str, Any]) -> str:
    correlation_id = entry.get("correlation_id")
    return f"correlation id {correlation_id}" if correlation_id else ""


_EARLIEST = datetime.min.replace(tzinfo=UTC)
_SOURCE_ORDER = {"Dynamics": 0, "Job": 1, "Xero": 2, "Sync History": 3}  # at the same moment: cause first


def merged(recorded: Iterable[Mapping[str, Any]], jobs: Iterable[JobRow], attempts: Iterable[Attempt]) -> list[Moment]:
    """Everything, oldest first; a moment without a time goes first."""
    moments = [
        webhook_moment(entry) if entry.get("kind") == "webhook" else xero_call_moment(entry)
        for entry in recorded
        if entry.get("kind") in {"webhook", "xero"}
    ]
    moments += [job_moment(row) for row in jobs]
    moments += [attempt_moment(attempt) for attempt in attempts]
    return sorted(moments, key=Moment.sort_key)
