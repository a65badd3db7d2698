"""Connecting and disconnecting Xero organisations: everything but the HTTP pages (app/xero_connect.py).

How tokens are stored: **one token set per connection row.** A consent (one pass through Xero's authorize page)
yields one token set, which may cover several organisations; the admin picks one of them and that token set is
bound to that connection alone (`TokenStore`, keyed by the `xc_connection` row id). Connecting a second
organisation is a second pass through `/xero/connect`, and Xero issues an independent token set for it. Refresh
tokens are single-use and rotate, so sharing one token set between two rows would make each row's refresh
invalidate the other's copy; with one set per row every connection refreshes, is revoked and is reconnected on
its own, under its own lock, and disconnecting one organisation never touches another.

Redis keys (all short-lived, single use):
- `connector:xero:connect:state:<state>`: the CSRF state of one authorize redirect and its redirect_uri (10 min);
- `connector:xero:connect:choice:<token>`: the exchanged token set (encrypted) and the offered organisations,
  while the admin chooses one (10 min).
"""

from __future__ import annotations

import json
import logging
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography.fernet import InvalidToken, MultiFernet
from redis import Redis

from app import dynamics_schema as schema
from app.clients.dataverse import DataverseClient, odata_literal
from app.clients.xero import XeroGateways
from app.clients.xero_auth import XeroTokenEndpoint
from app.clients.xero_tokens import TokenSet, TokenStore
from app.dynamics_schema import SyncAction, SyncStatus
from app.errors import ConnectionLost, ConnectorError, Permanent
from app.queue import JobQueue
from app.reference_data import submit_import
from app.xero_connect_identity import XeroIdentityCalls
from app.xero_tenants import forget_tenant, register_tenant
from mappers.writeback import history_row
from mappers.xero_connection import (
    ConnectedOrganisation,
    connected_patch,
    disconnected_patch,
    new_connection_row,
)

log = logging.getLogger(__name__)

KEY_PREFIX = "connector:xero:connect"
STEP_TTL_SECONDS = 600  # a state or a pending choice lives 10 minutes
CONNECT_LOCK_SECONDS = 120


class Expired(Exception):
    """A state or choice token that is unknown, expired or already used."""


@dataclass(frozen=True)
class Tenant:
    tenant_id: str
    name: str

    @classmethod
    def from_connection(cls, entry: dict[str, Any]) -> Tenant:
        return cls(str(entry["tenantId"]).lower(), str(entry.get("tenantName") or entry["tenantId"]))


@dataclass(frozen=True)
class Connected:
    connection_id: str
    tenant_id: str
    name: str
    short_code: str | None
    created: bool
    is_default: bool
    reference_job_id: str


def organisations(connections: list[dict[str, Any]]) -> list[Tenant]:
    """The organisations of a `GET /connections` answer (practice-manager and other tenant types are skipped)."""
    return [
        Tenant.from_connection(c)
        for c in connections
        if c.get("tenantId") and str(c.get("tenantType", "ORGANISATION")).upper() == "ORGANISATION"
    ]


class ConnectSteps:
    """The single-use tokens between the steps of the browser flow."""

    def __init__(self, connection: Redis, cipher: MultiFernet) -> None:
        self.redis = connection
        self.cipher = cipher

    def new_state(self, redirect_uri: str) -> str:
        state = secrets.token_urlsafe(32)
        self.redis.set(f"{KEY_PREFIX}:state:{state}", json.dumps({"redirect_uri": redirect_uri}), ex=STEP_TTL_SECONDS)
        return state

    def take_state(self, state: str | None) -> str:
        """The redirect_uri the state was issued for; the state is gone afterwards."""
        data = self._take(f"{KEY_PREFIX}:state:{state}" if state else None)
        return str(json.loads(data)["redirect_uri"])

    def park_choice(self, tokens: TokenSet, tenants: list[Tenant]) -> str:
        token = secrets.token_urlsafe(32)
        plain = json.dumps(
            {"tokens": {**tokens.__dict__, "scope": list(tokens.scope)}, "tenants": [t.__dict__ for t in tenants]}
        ).encode()
        self.redis.set(f"{KEY_PREFIX}:choice:{token}", self.cipher.encrypt(plain), ex=STEP_TTL_SECONDS)
        return token

    def take_choice(self, token: str | None) -> tuple[TokenSet, list[Tenant]]:
        stored = self._take(f"{KEY_PREFIX}:choice:{token}" if token else None)
        try:
            data = json.loads(self.cipher.decrypt(stored))
        except InvalidToken:
            raise Expired("the pending choice cannot be read with the configured keys") from None
        tokens = TokenSet(**{**data["tokens"], "scope": tuple(data["tokens"]["scope"])})
        return tokens, [Tenant(**t) for t in data["tenants"]]

    def _take(self, key: str | None) -> bytes:
        if not key:
            raise Expired("no token given")
        # GET and DEL in one transaction: of two requests racing with the same token, one gets nothing.
        with self.redis.pipeline(transaction=True) as pipe:
            value, _ = pipe.get(key).delete(key).execute()
        if value is None:
            raise Expired("unknown, expired or already used")
        return bytes(value)


def record_history(dataverse: DataverseClient, connection_id: str, status: SyncStatus, details: str) -> None:
    """A Sync History row on the connection, so the change is visible in Dynamics. Best effort: the change itself
    is already made, and a failed note must not make it look undone."""
    row = history_row(
        invoice_id=None,
        connection_id=connection_id,
        occurred_on=datetime.now(UTC),
        action=SyncAction.CONNECTION,
        status=status,
        details=details,
    )
    try:
        dataverse.create(row.entity_set, row.body)
    except ConnectorError as exc:
        log.warning("connection history not written", extra={"connection_id": connection_id, "detail": str(exc)})


class XeroConnector:
    """Binds a Xero organisation to a connection row in Dynamics, and undoes it."""

    def __init__(
        self,
        connection: Redis,
        dataverse: DataverseClient,
        xero: XeroGateways,
        jobs: JobQueue,
        identity: XeroIdentityCalls | None = None,
        endpoint: XeroTokenEndpoint | None = None,
    ) -> None:
        self.redis = connection
        self.dataverse = dataverse
        self.xero = xero
        self.jobs = jobs
        self.endpoint = endpoint or XeroTokenEndpoint(xero.settings)
        self.identity = identity or XeroIdentityCalls(xero.settings, self.endpoint.http)

    @property
    def tokens(self) -> TokenStore:
        return self.xero.tokens

    def steps(self) -> ConnectSteps:
        return ConnectSteps(self.redis, self.tokens.cipher)

    def connect(self, tokens: TokenSet, tenant: Tenant) -> Connected:
        lock = self.redis.lock(
            f"{KEY_PREFIX}:lock:{tenant.tenant_id}", timeout=CONNECT_LOCK_SECONDS, blocking_timeout=CONNECT_LOCK_SECONDS
        )
        if not lock.acquire():
            raise Permanent(
                "another connection of this organisation is in progress",
                user_message="This organisation is being connected in another window; try again.",
            )
        try:
            return self._connect(tokens, tenant)
        finally:
            lock.release()

    def _connect(self, tokens: TokenSet, tenant: Tenant) -> Connected:
        existing = self.dataverse.query(
            schema.CONNECTION_ENTITY_SET,
            select=[schema.CONNECTION_ID, schema.CONNECTION_IS_DEFAULT],
            filter=f"{schema.CONNECTION_XERO_TENANT_ID} eq {odata_literal(tenant.tenant_id)}",
            top=1,
        )
        # A new row gets its id here, so its tokens can be stored (and the organisation read) before it exists.
        connection_id = str(existing[0][schema.CONNECTION_ID]) if existing else str(uuid.uuid4())
        self.tokens.save(connection_id, tokens)
        try:
            org = self.xero.get(connection_id, tenant.tenant_id).get_organisation()
        except Exception:
            if not existing:
                self.tokens.delete(connection_id)  # no row will point at them
            raise
        time_zone = getattr(org.timezone, "value", org.timezone)
        facts = ConnectedOrganisation(
            tenant.tenant_id, org.name or tenant.name, org.short_code, str(time_zone) if time_zone else None
        )
        if existing:
            is_default = bool(existing[0].get(schema.CONNECTION_IS_DEFAULT))
            self.dataverse.update(schema.CONNECTION_ENTITY_SET, connection_id, connected_patch(facts))
        else:
            is_default = not self.dataverse.query(
                schema.CONNECTION_ENTITY_SET,
                select=[schema.CONNECTION_ID],
                filter=f"{schema.CONNECTION_IS_DEFAULT} eq true",
                top=1,
            )
            self.dataverse.upsert(
                schema.CONNECTION_ENTITY_SET, connection_id, new_connection_row(facts, is_default=is_default)
            )
        register_tenant(self.redis, tenant.tenant_id, connection_id)
        short = f" (short code {facts.short_code})" if facts.short_code else ""
        record_history(
            self.dataverse,
            connection_id,
            SyncStatus.SUCCESS,
            f"{'Reconnected' if existing else 'Connected'} to the Xero organisation {facts.name}{short}.",
        )
        job = submit_import(
            self.jobs, connection_id, trigger={"connected": tenant.tenant_id}, tenant_id=tenant.tenant_id
        )
        log.info(
            "xero organisation connected",
            extra={"connection_id": connection_id, "tenant_id": tenant.tenant_id, "new_row": not existing},
        )
        return Connected(
            connection_id, tenant.tenant_id, facts.name, facts.short_code, not existing, is_default, job.job_id
        )

    def connect_custom(self) -> Connected:
        """A custom connection: the client credentials grant exactly one organisation, no browser step."""
        if not self.xero.settings.custom_connection:
            raise Permanent(
                "not a custom connection", user_message="This connector uses the browser flow: open /xero/connect."
            )
        tokens = self.endpoint.client_credentials()
        found = organisations(self.endpoint.tenants(tokens))
        if len(found) != 1:
            raise Permanent(
                f"a custom connection must grant one organisation, it grants {len(found)}",
                user_message=f"The custom connection grants {len(found)} organisations; it must grant exactly one.",
            )
        return self.connect(tokens, found[0])

    def disconnect(self, connection_id: str, now: datetime | None = None) -> str:
        """Revoke at Xero, forget the tokens and the tenant, mark the row Disconnected; returns its name."""
        row = self.dataverse.get_optional(
            schema.CONNECTION_ENTITY_SET,
            connection_id,
            select=[schema.CONNECTION_XERO_TENANT_ID, schema.CONNECTION_XERO_TENANT_NAME, schema.CONNECTION_NAME],
        )
        if row is None:
            raise LookupError(connection_id)
        tenant_id = str(row.get(schema.CONNECTION_XERO_TENANT_ID) or "")
        if not self.xero.settings.custom_connection:
            # A custom connection is ended in Xero's developer portal; the client credentials cannot revoke it.
            self._revoke_at_xero(connection_id, tenant_id)
        self.tokens.delete(connection_id)
        self.dataverse.update(schema.CONNECTION_ENTITY_SET, connection_id, disconnected_patch(now or datetime.now(UTC)))
        record_history(
            self.dataverse,
            connection_id,
            SyncStatus.INFORMATION,
            "Disconnected from Xero by an administrator: the authorisation was revoked.",
        )
        if tenant_id:
            forget_tenant(self.redis, tenant_id)
        log.info("xero organisation disconnected", extra={"connection_id": connection_id, "tenant_id": tenant_id})
        return str(row.get(schema.CONNECTION_XERO_TENANT_NAME) or row.get(schema.CONNECTION_NAME) or connection_id)

    def _revoke_at_xero(self, connection_id: str, tenant_id: str) -> None:
        try:
            if self.tokens.load(connection_id) is None:
                return
            current = self.tokens.fresh(connection_id, self.endpoint.renew)
            xero_connection = self.identity.xero_connection_id(self.endpoint.tenants(current), tenant_id)
            if xero_connection:
                self.identity.delete_connection(current, xero_connection)
            if current.refresh_token:
                self.identity.revoke(current.refresh_token)
        except ConnectionLost as exc:
            # Xero no longer honours this authorisation: there is nothing left to revoke there.
            log.info("xero authorisation already gone", extra={"connection_id": connection_id, "detail": str(exc)})
