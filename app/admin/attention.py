"""Needs attention: invoices whose sync failed, jobs retrying (with their next attempt from RQ's scheduled
registry), invoices whose totals differ from Xero's, and other failed jobs; retry one, or every failed invoice of
a connection (after a reconnect, say).

Retrying an invoice does what a person does in Dynamics (export status back to No, or Ready to update when it is
already in Xero) and queues its sync at once, so the retry does not wait for a webhook.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from flask import abort, render_template
from werkzeug.wrappers import Response

from app import dynamics_schema as schema
from app.admin import blueprint, job_views
from app.admin.activity import FORMATTED
from app.admin.connections import connection_name, connection_row, parse_id
from app.admin.context import back_to, jobs, services
from app.dynamics_schema import ExportStatus, SyncStatus
from app.queue import QUEUE_DATAVERSE, JobQueue, invoice_scope

if TYPE_CHECKING:
    from app.services import Services

LISTED = 50  # failed invoices shown (oldest changes beyond these wait for the next page load)
_INVOICES = schema.entity_set_name("invoice")
_CONNECTION_VALUE = f"_{schema.INVOICE_CONNECTION}_value"
_HISTORY_INVOICE_VALUE = f"_{schema.SYNC_HISTORY_INVOICE}_value"
_INVOICE_COLUMNS = ["name", "invoicenumber", "modifiedon", schema.INVOICE_XERO_INVOICE_ID, _CONNECTION_VALUE]
# Written by the totals check once its columns exist in the schema; until then the section is not shown.
TOTALS_STATUS = schema.column("totalsstatus")
TOTALS_DIFFERENCE = schema.column("totalsdifference")


@dataclass(frozen=True)
class FailedInvoice:
    id: str
    name: str
    connection_id: str | None
    connection: str
    changed_on: str | None
    reason: str


def _declared_on_invoice(column: str) -> bool:
    try:
        schema.INVOICE_TABLE[column]
    except KeyError:
        return False
    return True


def totals_check_available() -> bool:
    return _declared_on_invoice(TOTALS_STATUS) and hasattr(schema, "TotalsStatus")


def _invoice_name(row: dict[str, Any]) -> str:
    return str(row.get("name") or row.get("invoicenumber") or row["invoiceid"])


def _invoices(found: Services, filters: list[str], extra: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    return found.dataverse.query(
        _INVOICES,
        select=[*_INVOICE_COLUMNS, *extra],
        filter=" and ".join(filters),
        orderby="modifiedon desc",
        top=LISTED,
        formatted_values=True,
    )


def latest_failures(found: Services, invoice_ids: list[str]) -> dict[str, str]:
    """Each invoice's most recent failure reason from its Sync History (one query for all of them)."""
    if not invoice_ids:
        return {}
    rows = found.dataverse.query(
        schema.SYNC_HISTORY_ENTITY_SET,
        select=[_HISTORY_INVOICE_VALUE, schema.SYNC_HISTORY_DETAILS],
        filter=f"{schema.SYNC_HISTORY_STATUS} eq {int(SyncStatus.FAILED)} and ("
        + " or ".join(f"{_HISTORY_INVOICE_VALUE} eq {invoice_id}" for invoice_id in invoice_ids)
        + ")",
        orderby=[f"{schema.SYNC_HISTORY_OCCURRED_ON} desc", "createdon desc"],
    )
    reasons: dict[str, str] = {}
    for row in rows:
        reasons.setdefault(str(row[_HISTORY_INVOICE_VALUE]).lower(), str(row.get(schema.SYNC_HISTORY_DETAILS) or ""))
    return reasons


def failed_invoices(found: Services, connection_id: str | None = None) -> list[FailedInvoice]:
    filters = [f"{schema.INVOICE_EXPORT_STATUS} eq {int(ExportStatus.FAILED)}"]
    if connection_id:
        filters.append(f"{_CONNECTION_VALUE} eq {connection_id}")
    rows = _invoices(found, filters)
    reasons = latest_failures(found, [str(row["invoiceid"]) for row in rows])
    return [
        FailedInvoice(
            id=str(row["invoiceid"]),
            name=_invoice_name(row),
            connection_id=row.get(_CONNECTION_VALUE),
            connection=str(row.get(_CONNECTION_VALUE + FORMATTED) or ""),
            changed_on=row.get("modifiedon"),
            reason=reasons.get(str(row["invoiceid"]).lower(), "No failure is recorded in its Sync History."),
        )
        for row in rows
    ]


def totals_differ(found: Services) -> list[dict[str, Any]]:
    if not totals_check_available():
        return []
    differ = int(schema.TotalsStatus.DIFFER)  # type: ignore[attr-defined]
    extra = (TOTALS_DIFFERENCE,) if _declared_on_invoice(TOTALS_DIFFERENCE) else ()
    return [
        {
            "id": str(row["invoiceid"]),
            "name": _invoice_name(row),
            "connection": str(row.get(_CONNECTION_VALUE + FORMATTED) or ""),
            "difference": str(row.get(TOTALS_DIFFERENCE) or ""),
        }
        for row in _invoices(found, [f"{TOTALS_STATUS} eq {differ}"], extra)
    ]


def invoice_names(found: Services, invoice_ids: list[str]) -> dict[str, str]:
    """Names of the invoices some jobs are about, in one query (ids it cannot find keep showing as ids)."""
    wanted = list(dict.fromkeys(invoice_id.lower() for invoice_id in invoice_ids))[:LISTED]
    if not wanted:
        return {}
    rows = found.dataverse.query(
        _INVOICES,
        select=["name", "invoicenumber"],
        filter=" or ".join(f"invoiceid eq {invoice_id}" for invoice_id in wanted),
    )
    return {str(row["invoiceid"]).lower(): _invoice_name(row) for row in rows}


def retry_invoice(found: Services, queue: JobQueue, invoice_id: str, in_xero: bool) -> str:
    """Ask for a new attempt: the export status a person would set, then the sync job itself."""
    from handlers.xero_writeback import organisation_id

    status = ExportStatus.READY_TO_UPDATE if in_xero else ExportStatus.NO
    found.dataverse.update(_INVOICES, invoice_id, {schema.INVOICE_EXPORT_STATUS: int(status)})
    organization = organisation_id(found.dataverse, queue.redis)
    queued = queue.submit_coalesced(
        QUEUE_DATAVERSE,
        "invoice.sync",
        {"organization_id": organization, "invoice_id": invoice_id},
        scope=invoice_scope(organization, invoice_id),
        trigger={"requested_by": "admin console", "retry": True},
    )
    return queued.job_id


@blueprint.get("/attention")
def attention_page() -> str:
    found = services()
    queue = jobs()
    scheduled = job_views.scheduled(queue)
    failed = failed_invoices(found)
    retrying = [row for row in scheduled if row.attempt > 1]
    return render_template(
        "admin/attention.html",
        names=invoice_names(found, [row.invoice_id for row in retrying if row.invoice_id]),
        failed=failed,
        failed_connections=sorted({(f.connection_id, f.connection) for f in failed if f.connection_id}),
        retrying=retrying,
        waiting=[row for row in scheduled if row.attempt <= 1],
        totals_available=totals_check_available(),
        totals=totals_differ(found),
        failed_jobs=[row for row in job_views.failed(queue) if row.kind != "invoice.sync"],
        limit=LISTED,
    )


@blueprint.post("/invoices/<invoice_id>/retry")
def retry_one(invoice_id: str) -> Response:
    row_id = parse_id(invoice_id)
    found = services()
    row = found.dataverse.get_optional(_INVOICES, row_id, select=["name", "invoicenumber", *_INVOICE_COLUMNS[3:]])
    if row is None:
        abort(404)
    retry_invoice(found, jobs(), row_id, bool(row.get(schema.INVOICE_XERO_INVOICE_ID)))
    return back_to("admin.attention_page", "retry_queued", _invoice_name({**row, "invoiceid": row_id}))


@blueprint.post("/connections/<connection_id>/retry-failed")
def retry_connection(connection_id: str) -> Response:
    row_id = parse_id(connection_id)
    found = services()
    name = connection_name(connection_row(found, row_id))
    queue = jobs()
    failed = _invoices(
        found,
        [f"{schema.INVOICE_EXPORT_STATUS} eq {int(ExportStatus.FAILED)}", f"{_CONNECTION_VALUE} eq {row_id}"],
    )
    for row in failed:
        retry_invoice(found, queue, str(row["invoiceid"]), bool(row.get(schema.INVOICE_XERO_INVOICE_ID)))
    return back_to("admin.attention_page", "retries_queued" if failed else "nothing", name)


@blueprint.post("/jobs/<job_id>/run-now")
def run_job_now(job_id: str) -> Response:
    moved = job_views.run_now(jobs(), job_id)
    if moved is None:
        return back_to("admin.attention_page", "nothing", job_id)
    return back_to("admin.attention_page", "run_now", moved.what)


@blueprint.post("/jobs/<job_id>/retry")
def retry_job(job_id: str) -> Response:
    moved = job_views.requeue_failed(jobs(), job_id)
    if moved is None:
        return back_to("admin.attention_page", "nothing", job_id)
    return back_to("admin.attention_page", "retry_queued", moved.what)
