"""A copy of each connection's Xero token set on its Dynamics connection row, so losing Redis never means a
person has to reconnect Xero (README, "What survives a Redis restart").

The copy is the same Fernet ciphertext Redis holds (`TOKEN_ENCRYPTION_KEYS`), written on every save and read only
when Redis has no token for the connection. The column is left out of the connection's webhook filtering
attributes, so a refresh does not wake the connector up, and out of the settings it reads for a sync.
"""

from __future__ import annotations

from app import dynamics_schema as schema
from app.clients.dataverse import DataverseClient
from app.clients.dataverse_errors import RowNotFound


class DataverseTokenBackup:
    def __init__(self, dataverse: DataverseClient) -> None:
        self.dataverse = dataverse

    def keep(self, connection_id: str, sealed: str | None) -> None:
        try:
            # An update only (If-Match: *): the connect flow stores a new row's tokens before it creates the row,
            # and copies them again once the row exists.
            self.dataverse.update(
                schema.CONNECTION_ENTITY_SET, connection_id, {schema.CONNECTION_XERO_TOKEN_BACKUP: sealed}
            )
        except RowNotFound:
            return

    def recall(self, connection_id: str) -> str | None:
        row = self.dataverse.get_optional(
            schema.CONNECTION_ENTITY_SET, connection_id, select=[schema.CONNECTION_XERO_TOKEN_BACKUP]
        )
        value = (row or {}).get(schema.CONNECTION_XERO_TOKEN_BACKUP)
        return str(value) if value else None
