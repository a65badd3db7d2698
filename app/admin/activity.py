"""Activity: recent sync attempts across invoices (the Sync History rows in Dynamics), filterable by outcome and
connection, and one invoice's timeline: its state, then the webhooks received for it, its jobs, the Xero calls
they made and its history rows in time order (app.admin.timeline)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from flask import redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from app import dynamics_schema as schema
from app import invoice_timeline
from app.admin import blueprint, job_views, problem, timeline
from app.admin.connections import connection_name, connection_rows, parse_id
from app.admin.context import jobs, services
from app.dynamics_schema import ExportStatus, SyncAction, SyncStatus, choice_label

if TYPE_CHECKING:
    from app.services import Services

FORMATTED = "@OData.Community.Display.V1.FormattedValue"
RECENT = 100  # rows on the activity page
OUTCOMES = {member.name.lower(): member for member in SyncStatus}
_INVOICE_NAV = schema.lookup(schema.SYNC_HISTORY_ENTITY, schema.SYNC_HISTORY_INVOICE).navigation_property
_HISTORY_COLUMNS = [
    schema.SYNC_HISTORY_OCCURRED_ON,
    f"_{schema.SYNC_HISTORY_INVOICE}_value",
    f"_{schema.SYNC_HISTORY_CONNECTION}_value",
    schema.SYNC_HISTORY_ACTION,
    schema.SYNC_HISTORY_STATUS,
    schema.SYNC_HISTORY_DETAILS,
    schema.SYNC_HISTORY_XERO_INVOICE_ID,
]


@dataclass(frozen=True)
class Attempt:
    occurred_on: str | None
    invoice_id: str | None
    invoice: str  # its name (or number) in Dynamics
    connection: str
    action: str
    outcome: str  # Success / Failed / Skipped / Information
    details: str
    xero_link: str | None


def web_link(value: Any) -> str | None:
    """A link from Dynamics, only when it is an http(s) address: a `javascript:` text typed into the column must
    not become something an admin can click."""
    text = str(value or "")
    return text if text.lower().startswith(("https://", "http://")) else None


def _label(enum: type[SyncAction] | type[SyncStatus], value: Any) -> str:
    try:
        return choice_label(enum(value))
    except ValueError:
        return str(value or "")


def attempt(row: dict[str, Any]) -> Attempt:
    invoice_key = f"_{schema.SYNC_HISTORY_INVOICE}_value"
    connection_key = f"_{schema.SYNC_HISTORY_CONNECTION}_value"
    invoice = row.get(_INVOICE_NAV) or {}
    return Attempt(
        occurred_on=row.get(schema.SYNC_HISTORY_OCCURRED_ON),
        invoice_id=row.get(invoice_key),
        invoice=str(invoice.get("name") or row.get(invoice_key + FORMATTED) or row.get(invoice_key) or ""),
        connection=str(row.get(connection_key + FORMATTED) or ""),
        action=_label(SyncAction, row.get(schema.SYNC_HISTORY_ACTION)),
        outcome=_label(SyncStatus, row.get(schema.SYNC_HISTORY_STATUS)),
        details=str(row.get(schema.SYNC_HISTORY_DETAILS) or ""),
        # The invoice's link, on the rows about a document Xero has (not on a failed first attempt, say).
        xero_link=web_link(invoice.get(schema.INVOICE_XERO_LINK))
        if row.get(schema.SYNC_HISTORY_XERO_INVOICE_ID)
        else None,
    )


def history(found: Services, *, filters: list[str], top: int | None, newest_first: bool = True) -> list[Attempt]:
    rows = found.dataverse.query(
        schema.SYNC_HISTORY_ENTITY_SET,
        select=_HISTORY_COLUMNS,
        filter=" and ".join(filters) or None,
        expand=f"{_INVOICE_NAV}($select=name,{schema.INVOICE_XERO_LINK})",
        # Rows of the same second keep the order Dynamics created them in.
        orderby=[
            f"{column} {'desc' if newest_first else 'asc'}" for column in (schema.SYNC_HISTORY_OCCURRED_ON, "createdon")
        ],
        top=top,
        formatted_values=True,
    )
    return [attempt(row) for row in rows]


@blueprint.get("/activity")
def activity_page() -> str:
    found = services()
    outcome = request.args.get("outcome", "")
    connection = request.args.get("connection", "")
    filters = []
    if outcome in OUTCOMES:
        filters.append(f"{schema.SYNC_HISTORY_STATUS} eq {int(OUTCOMES[outcome])}")
    if connection:
        filters.append(f"_{schema.SYNC_HISTORY_CONNECTION}_value eq {parse_id(connection)}")
    connections = [(str(row[schema.CONNECTION_ID]), connection_name(row)) for row in connection_rows(found)]
    return render_template(
        "admin/activity.html",
        attempts=history(found, filters=filters, top=RECENT),
        outcomes=[(key, choice_label(member)) for key, member in OUTCOMES.items()],
        connections=connections,
        outcome=outcome,
        connection=connection,
        limit=RECENT,
    )


@blueprint.get("/invoices")
def find_invoice() -> Response | tuple[str, int]:
    """The activity page's "open an invoice" box: its id, as copied from Dynamics' address bar or a row."""
    given = request.args.get("id", "").strip().strip("{}")
    try:
        invoice_id = str(uuid.UUID(given))
    except ValueError:
        return problem("Not an invoice id", "Paste the invoice's id from Dynamics (a GUID).", 400)
    return redirect(url_for("admin.invoice_page", invoice_id=invoice_id), code=303)


_INVOICE_COLUMNS = [
    "name",
    "invoicenumber",
    "modifiedon",
    "statecode",
    schema.INVOICE_EXPORT_STATUS,
    schema.INVOICE_XERO_NUMBER,
    schema.INVOICE_XERO_STATUS,
    schema.INVOICE_XERO_LINK,
    schema.INVOICE_EXPORT_DATE,
    f"_{schema.INVOICE_CONNECTION}_value",
]


@blueprint.get("/invoices/<invoice_id>")
def invoice_page(invoice_id: str) -> str:
    row_id = parse_id(invoice_id)
    found = services()
    invoice = found.dataverse.get_optional(
        schema.entity_set_name("invoice"), row_id, select=_INVOICE_COLUMNS, formatted_values=True
    )
    attempts = history(
        found, filters=[f"_{schema.SYNC_HISTORY_INVOICE}_value eq {row_id}"], top=None, newest_first=False
    )
    queue = jobs()
    invoice_jobs = job_views.for_invoice(queue, row_id)
    waiting = {
        row.id: job_views.waiting_events(queue, row.id)
        for row in invoice_jobs
        if row.status in {"queued", "scheduled", "deferred"}
    }
    return render_template(
        "admin/invoice.html",
        invoice_id=row_id,
        invoice=invoice,
        xero_link=web_link((invoice or {}).get(schema.INVOICE_XERO_LINK)),
        failed=bool(invoice) and invoice.get(schema.INVOICE_EXPORT_STATUS) == int(ExportStatus.FAILED),
        formatted=FORMATTED,
        schema=schema,
        moments=timeline.merged(invoice_timeline.entries(queue.redis, row_id), invoice_jobs, attempts),
        kept=invoice_timeline.TIMELINE_KEPT,
        kept_days=invoice_timeline.TIMELINE_TTL_SECONDS // 86400,
        jobs=invoice_jobs,
        waiting=waiting,
    )
