"""Which Xero organisations (tenants) this connector serves, kept in Redis for the webhook intake.

The intake may not call Dynamics, so the connect flow (and the run command for the sandbox) records each
tenant with its connection row here; events for any other tenant are ignored and logged.
"""

from __future__ import annotations

from redis import Redis

KEY = "connector:xero:tenants"


def register_tenant(connection: Redis, tenant_id: str, connection_id: str) -> None:
    connection.hset(KEY, tenant_id.lower(), connection_id)


def forget_tenant(connection: Redis, tenant_id: str) -> None:
    connection.hdel(KEY, tenant_id.lower())


def connection_for_tenant(connection: Redis, tenant_id: str) -> str | None:
    value = connection.hget(KEY, tenant_id.lower())
    return value.decode() if value else None
