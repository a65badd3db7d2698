"""`xero.token_refresh`: renew every connection's Xero refresh token long before it dies of disuse.

An unused Xero refresh token expires after 60 days, and a connection whose organisation sends no invoices for
two months would otherwise need an admin to reconnect it. The scheduler queues this job every
`XERO_TOKEN_REFRESH_INTERVAL_SECONDS` (12 hours); it refreshes the token of each Connected row whose token set
is older than `XERO_TOKEN_REFRESH_AFTER_SECONDS` (7 days). A token in daily use is refreshed by the workers
anyway and is skipped here.

Age: every refresh also issues a new 30-minute access token, so a token set was last renewed about
`expires_at - 30 minutes` ago; an estimate off by minutes does not matter against a threshold of days.

The refresh happens under the same per-connection lock `TokenStore.fresh` takes, re-reads the token inside it
(a worker may have just refreshed it) and persists the rotated token before anything else.
`invalid_grant` (the consent was revoked in Xero, or the token already expired) flags the row "Reconnect Xero"
with the reason; passing faults leave the other connections unaffected and retry the job later.

Custom connections have no refresh token (their client-credentials tokens are fetched on demand) and are skipped.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from app import dynamics_schema as schema
from app.clients.xero_auth import XeroTokenEndpoint
from app.clients.xero_tokens import KEY_PREFIX, LOCK_TIMEOUT_SECONDS, TokenSet
from app.config import Settings
from app.dispatch import JobContext
from app.dynamics_schema import ConnectionStatus, SyncStatus
from app.errors import ConnectionLost, Retryable
from app.queue import QUEUE_MAINTENANCE
from app.services import Services, services_for
from app.xero_connect_flow import record_history
from mappers.xero_connection import reconnect_patch

if TYPE_CHECKING:
    from app.schedule import Periodic

log = logging.getLogger(__name__)

KIND = "xero.token_refresh"
ACCESS_TOKEN_SECONDS = 30 * 60  # Xero's access token lifetime: how long before `expires_at` a set was issued


def periodic(settings: Settings) -> Periodic:
    """The schedule entry."""
    from app.schedule import Periodic  # app.schedule imports this module to list the entry

    return Periodic(
        kind=KIND,
        queue=QUEUE_MAINTENANCE,
        interval_seconds=settings.xero_token_refresh_interval_seconds,
        description="Refresh every Xero connection's token before it expires from disuse",
    )


def issued_at(tokens: TokenSet) -> float:
    return tokens.expires_at - ACCESS_TOKEN_SECONDS


@dataclass
class RefreshReport:
    refreshed: list[str] = field(default_factory=list)
    fresh_enough: list[str] = field(default_factory=list)
    no_refresh_token: list[str] = field(default_factory=list)
    reconnect: list[str] = field(default_factory=list)
    retry: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {name: list(value) for name, value in self.__dict__.items()}


def handle(ctx: JobContext) -> dict[str, Any]:
    services = services_for(ctx.redis)
    if services is None:
        return {"handler": __name__, "skipped": "the worker is not connected to Dynamics and Xero"}
    report = refresh_connections(services, older_than=ctx.settings.xero_token_refresh_after_seconds)
    if report.retry:
        # The others are done and now young, so the retry only touches the ones that failed.
        raise Retryable(f"Xero token refresh failed for a passing reason on {len(report.retry)} connection(s)")
    return {"handler": __name__, **report.as_dict()}


def refresh_connections(
    services: Services, *, older_than: float, now: float | None = None, endpoint: XeroTokenEndpoint | None = None
) -> RefreshReport:
    """Refresh the token of every Connected row older than `older_than` seconds at `now`."""
    endpoint = endpoint or XeroTokenEndpoint(services.xero.settings)
    moment = time.time() if now is None else now
    report = RefreshReport()
    rows = services.dataverse.query(
        schema.CONNECTION_ENTITY_SET,
        select=[schema.CONNECTION_ID, schema.CONNECTION_XERO_TENANT_ID],
        filter=f"{schema.CONNECTION_STATUS} eq {int(ConnectionStatus.CONNECTED)}",
    )
    for row in rows:
        connection_id = str(row[schema.CONNECTION_ID])
        try:
            outcome = _refresh_one(services, endpoint, connection_id, older_than, moment)
        except ConnectionLost as exc:
            log.warning(
                "xero token refresh refused; connection needs reconnecting",
                extra={"connection_id": connection_id, "detail": str(exc)},
            )
            services.dataverse.update(
                schema.CONNECTION_ENTITY_SET,
                connection_id,
                reconnect_patch(_reason(exc), datetime.fromtimestamp(moment, UTC)),
            )
            record_history(
                services.dataverse,
                connection_id,
                SyncStatus.FAILED,
                f"Reconnect Xero: {_reason(exc)}. Invoices for this organisation wait until an "
                "administrator connects it again.",
            )
            report.reconnect.append(connection_id)
            continue
        except Retryable as exc:
            log.warning(
                "xero token refresh failed; will retry", extra={"connection_id": connection_id, "detail": str(exc)}
            )
            report.retry.append(connection_id)
            continue
        getattr(report, outcome).append(connection_id)
    log.info("xero token refresh done", extra=report.as_dict())
    return report


def _refresh_one(
    services: Services, endpoint: XeroTokenEndpoint, connection_id: str, older_than: float, now: float
) -> str:
    store = services.xero.tokens
    tokens = store.load(connection_id)
    if tokens is None:
        if services.xero.settings.custom_connection:
            return "no_refresh_token"  # fetched on first use
        raise ConnectionLost("no Xero token is stored for this connection")
    if not tokens.refresh_token:
        return "no_refresh_token"
    if now - issued_at(tokens) < older_than:
        return "fresh_enough"
    # The lock `TokenStore.fresh` uses: a worker refreshing this connection at the same moment waits for us.
    lock = store.redis.lock(
        f"{KEY_PREFIX}:lock:{connection_id}", timeout=LOCK_TIMEOUT_SECONDS, blocking_timeout=LOCK_TIMEOUT_SECONDS
    )
    if not lock.acquire():
        raise Retryable("another worker is still refreshing the Xero token")
    try:
        tokens = store.load(connection_id) or tokens
        if not tokens.refresh_token or now - issued_at(tokens) < older_than:
            return "fresh_enough"
        store.save(connection_id, endpoint.refresh(tokens.refresh_token))
        return "refreshed"
    finally:
        lock.release()


def _reason(exc: ConnectionLost) -> str:
    detail = str(exc)
    if "invalid_grant" in detail:
        return "Xero refused to renew the authorisation (invalid_grant): it was revoked in Xero or has expired"
    return detail
