"""Write what happened back into Dynamics: the invoice's Xero columns and a Sync History row, in one $batch.

Every outcome the user should see goes through `Outcome`: a change set of row patches plus the history row,
all or nothing (a history row never claims what the invoice row does not show).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from app import dynamics_schema as schema
from app.clients.dataverse import BatchOperation, DataverseClient
from app.dynamics_schema import ConnectionStatus, SyncAction, SyncStatus
from mappers.dynamics import ConnectionSettings
from mappers.writeback import RowCreate, RowPatch, history_row


@dataclass
class Outcome:
    """One attempt's write-back: patches to apply and the history row that tells the user about it."""

    invoice_id: str | None
    connection: ConnectionSettings | None
    action: SyncAction
    status: SyncStatus
    details: str
    xero_invoice_id: str | None = None
    patches: list[RowPatch] = field(default_factory=list)

    def history(self, now: datetime) -> RowCreate:
        return history_row(
            invoice_id=self.invoice_id,
            connection_id=self.connection.id if self.connection else None,
            occurred_on=now,
            action=self.action,
            status=self.status,
            details=self.details,
            xero_invoice_id=self.xero_invoice_id,
            time_zone=self.connection.zone if self.connection else None,
        )


def write_outcome(dataverse: DataverseClient, outcome: Outcome, now: datetime | None = None) -> None:
    operations = [BatchOperation.update(p.entity_set, p.row_id, p.body) for p in outcome.patches]
    history = outcome.history(now or datetime.now(UTC))
    operations.append(BatchOperation.create(history.entity_set, history.body))
    dataverse.batch(operations)


def write_patches(dataverse: DataverseClient, patches: Sequence[RowPatch]) -> None:
    if patches:
        dataverse.batch([BatchOperation.update(p.entity_set, p.row_id, p.body) for p in patches])


def reconnect_patch(connection_id: str, message: str) -> RowPatch:
    """Flag the connection row, where admins look, as needing a new consent in Xero."""
    return RowPatch(
        schema.CONNECTION_ENTITY_SET,
        connection_id,
        {
            schema.CONNECTION_STATUS: int(ConnectionStatus.RECONNECT_XERO),
            schema.CONNECTION_STATUS_MESSAGE: message,
        },
    )
