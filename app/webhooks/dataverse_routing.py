"""Decide what a Dataverse event asks of the connector: pure, no I/O.

invoice Create/Update -> sync that invoice; invoice Delete -> cancel from the pre-image; invoice line events
-> sync the parent invoice (or find the parent first); connection rows -> maintenance; anything else ignored.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from app.dynamics_schema import INVOICE_EXPORT_STATUS, PUBLISHER_PREFIX, RESYNC_REQUEST_VALUES
from app.events import DataverseEvent, EntityRef

INVOICE = "invoice"
INVOICE_LINE = "invoicedetail"
CONNECTION = f"{PUBLISHER_PREFIX}_connection"
MESSAGES = frozenset({"Create", "Update", "Delete"})


@dataclass(frozen=True)
class Ignore:
    reason: str


@dataclass(frozen=True)
class SyncInvoice:
    invoice_id: str


@dataclass(frozen=True)
class DeleteInvoice:
    invoice_id: str
    pre_image: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ResolveLineParent:
    line_id: str
    deleted: bool


@dataclass(frozen=True)
class ConnectionChanged:
    connection_id: str
    deleted: bool


Route = Ignore | SyncInvoice | DeleteInvoice | ResolveLineParent | ConnectionChanged


def is_resync_request(event: DataverseEvent) -> bool:
    """A person (or a script running as the connector) set the export status to ask for a sync."""
    return event.changed_attributes.get(INVOICE_EXPORT_STATUS) in RESYNC_REQUEST_VALUES


def is_own_write(event: DataverseEvent, connector_user_id: str) -> bool:
    if not connector_user_id:
        return False
    initiator = event.initiating_user_id or event.user_id
    return initiator == connector_user_id


def route_event(event: DataverseEvent, connector_user_id: str = "") -> Route:
    if event.message not in MESSAGES:
        return Ignore(f"message {event.message} is not handled")
    if event.entity not in {INVOICE, INVOICE_LINE, CONNECTION}:
        return Ignore(f"table {event.entity} is not handled")
    if is_own_write(event, connector_user_id) and not (event.entity == INVOICE and is_resync_request(event)):
        return Ignore("change made by the connector itself")

    if event.entity == CONNECTION:
        return ConnectionChanged(event.record_id, deleted=event.message == "Delete")
    if event.entity == INVOICE:
        if event.message == "Delete":
            return DeleteInvoice(event.record_id, dict(event.pre_image()))
        return SyncInvoice(event.record_id)
    parent = event.attribute("invoiceid")
    if isinstance(parent, EntityRef) and parent.id:
        return SyncInvoice(parent.id)
    return ResolveLineParent(event.record_id, deleted=event.message == "Delete")
