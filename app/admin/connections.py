"""Connections: each Xero organisation with its status, last successful sync and Xero calls left; connect,
reconnect, disconnect and import its reference data (the flows of app/xero_connect*.py and app/reference_data)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from flask import abort, render_template, url_for
from werkzeug.wrappers import Response

from app import dynamics_schema as schema
from app.admin import blueprint
from app.admin.context import back_to, jobs, services
from app.clients.xero_limits import Headroom
from app.dynamics_schema import ConnectionStatus, SyncStatus, choice_label
from app.reference_data import submit_import

if TYPE_CHECKING:
    from app.services import Services

_COLUMNS = (
    schema.CONNECTION_ID,
    schema.CONNECTION_NAME,
    schema.CONNECTION_XERO_TENANT_ID,
    schema.CONNECTION_XERO_TENANT_NAME,
    schema.CONNECTION_XERO_SHORT_CODE,
    schema.CONNECTION_STATUS,
    schema.CONNECTION_STATUS_MESSAGE,
)
NO_AUTHORISATION_REASON = "No Xero authorisation is stored for it: reconnect to Xero."


@dataclass(frozen=True)
class ConnectionOverview:
    id: str
    name: str
    tenant_id: str | None
    short_code: str | None
    status: str  # Connected / Reconnect Xero / Disconnected
    reason: str | None
    last_success: str | None  # ISO time of the last successful sync of an invoice
    headroom: Headroom | None

    @property
    def needs_reconnect(self) -> bool:
        return self.status != choice_label(ConnectionStatus.CONNECTED)


def parse_id(value: str) -> str:
    """A row id from the address, or 404: a mistyped link is a missing page, not an error."""
    try:
        return str(uuid.UUID(value))
    except ValueError:
        abort(404)


def connection_name(row: dict[str, Any]) -> str:
    return str(row.get(schema.CONNECTION_XERO_TENANT_NAME) or row.get(schema.CONNECTION_NAME) or "Unnamed connection")


def connection_rows(found: Services) -> list[dict[str, Any]]:
    return found.dataverse.query(
        schema.CONNECTION_ENTITY_SET, select=list(_COLUMNS), orderby=f"{schema.CONNECTION_NAME} asc"
    )


def connection_row(found: Services, connection_id: str, extra: tuple[str, ...] = ()) -> dict[str, Any]:
    row = found.dataverse.get_optional(schema.CONNECTION_ENTITY_SET, connection_id, select=[*_COLUMNS, *extra])
    if row is None:
        abort(404)
    return row


def last_successful_sync(found: Services, connection_id: str) -> str | None:
    rows = found.dataverse.query(
        schema.SYNC_HISTORY_ENTITY_SET,
        select=[schema.SYNC_HISTORY_OCCURRED_ON],
        filter=(
            f"_{schema.SYNC_HISTORY_CONNECTION}_value eq {connection_id} "
            f"and {schema.SYNC_HISTORY_STATUS} eq {int(SyncStatus.SUCCESS)} "
            f"and _{schema.SYNC_HISTORY_INVOICE}_value ne null"
        ),
        orderby=f"{schema.SYNC_HISTORY_OCCURRED_ON} desc",
        top=1,
    )
    return rows[0].get(schema.SYNC_HISTORY_OCCURRED_ON) if rows else None


def overview(found: Services, row: dict[str, Any]) -> ConnectionOverview:
    connection_id = str(row[schema.CONNECTION_ID])
    tenant_id = row.get(schema.CONNECTION_XERO_TENANT_ID)
    raw_status = row.get(schema.CONNECTION_STATUS)
    status = ConnectionStatus(raw_status) if raw_status in set(ConnectionStatus) else ConnectionStatus.DISCONNECTED
    reason = row.get(schema.CONNECTION_STATUS_MESSAGE)
    if status is ConnectionStatus.CONNECTED and found.xero.tokens.load(connection_id) is None:
        status, reason = ConnectionStatus.RECONNECT_XERO, NO_AUTHORISATION_REASON
    return ConnectionOverview(
        id=connection_id,
        name=connection_name(row),
        tenant_id=tenant_id,
        short_code=row.get(schema.CONNECTION_XERO_SHORT_CODE),
        status=choice_label(status),
        reason=reason,
        last_success=last_successful_sync(found, connection_id),
        headroom=found.xero.limiter.headroom(tenant_id) if tenant_id else None,
    )


@blueprint.get("")
@blueprint.get("/")
def connections_page() -> str:
    found = services()
    overviews = [overview(found, row) for row in connection_rows(found)]
    return render_template(
        "admin/connections.html",
        connections=overviews,
        custom_connection=found.xero.settings.custom_connection,
        connect_url=url_for("xero_connect.start"),
    )


@blueprint.post("/connections/<connection_id>/disconnect")
def disconnect(connection_id: str) -> Response:
    from app.xero_connect import xero_connector

    row_id = parse_id(connection_id)
    try:
        name = xero_connector().disconnect(row_id)
    except LookupError:
        abort(404)
    return back_to("admin.connections_page", "disconnected", name)


@blueprint.post("/connections/<connection_id>/import")
def import_reference_data(connection_id: str) -> Response:
    row = connection_row(services(), parse_id(connection_id))
    submit_import(jobs(), str(row[schema.CONNECTION_ID]), trigger={"requested_by": "admin console"})
    return back_to("admin.connections_page", "import_queued", connection_name(row))
