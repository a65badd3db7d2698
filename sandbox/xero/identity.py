"""Xero's identity server in memory: clients, consent grants (connections), codes and rotating tokens."""

from __future__ import annotations

import base64
import json
import secrets
import uuid
from dataclasses import dataclass, field
from typing import Any

from sandbox.xero.clock import Clock

ACCESS_TOKEN_SECONDS = 30 * 60
REFRESH_TOKEN_SECONDS = 60 * 24 * 3600
REFRESH_GRACE_SECONDS = 30 * 60
AUTH_CODE_SECONDS = 5 * 60
KNOWN_SCOPES = {
    "openid",
    "profile",
    "email",
    "offline_access",
    "accounting.transactions",
    "accounting.transactions.read",
    "accounting.invoices",
    "accounting.invoices.read",
    "accounting.payments",
    "accounting.payments.read",
    "accounting.contacts",
    "accounting.contacts.read",
    "accounting.settings",
    "accounting.settings.read",
    "accounting.reports.read",
    "accounting.journals.read",
    "accounting.attachments",
    "accounting.attachments.read",
}
# Which granted scopes cover a call, by resource family; broad (pre-2026) and granular scopes both count.
_WRITE_SCOPES = {
    "invoices": {"accounting.invoices", "accounting.transactions"},
    "payments": {"accounting.payments", "accounting.transactions"},
    "contacts": {"accounting.contacts"},
    "settings": {"accounting.settings"},
    "items": {"accounting.invoices", "accounting.settings"},
}
_READ_ONLY_SCOPES = {
    "invoices": {"accounting.invoices.read", "accounting.transactions.read"},
    "payments": {"accounting.payments.read", "accounting.transactions.read"},
    "contacts": {"accounting.contacts.read"},
    "settings": {"accounting.settings.read"},
    "items": {"accounting.invoices.read", "accounting.settings.read"},
}


def scope_covers(granted: set[str], family: str, write: bool) -> bool:
    allowed = set(_WRITE_SCOPES[family])
    if not write:
        allowed |= _READ_ONLY_SCOPES[family]
    return bool(granted & allowed)


SANDBOX_USER_ID = "4d1a6f1e-5b8e-4c1f-9d6a-0b1f3c2e7a10"
ISSUER = "https://identity.xero.com"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwt_shaped(claims: dict[str, Any]) -> str:
    """A token shaped like Xero's JWTs so callers can read its claims; the signature is random bytes:
    the sandbox looks tokens up, it never verifies them, and neither should a client."""
    header = {"alg": "RS256", "kid": "sandbox", "typ": "JWT"}
    return ".".join(
        [_b64(json.dumps(header).encode()), _b64(json.dumps(claims).encode()), _b64(secrets.token_bytes(32))]
    )


class OAuthError(Exception):
    def __init__(self, error: str, description: str | None = None, status: int = 400) -> None:
        super().__init__(error)
        self.error = error
        self.description = description
        self.status = status


@dataclass
class Client:
    client_id: str
    client_secret: str
    name: str
    custom_tenant_ids: list[str] = field(default_factory=list)  # set only for custom connections
    redirect_uris: list[str] = field(default_factory=list)


@dataclass
class Grant:
    """One consent: a client, its scopes and the tenants the user picked (each a connection)."""

    grant_id: str
    client_id: str
    scopes: list[str]
    connections: dict[str, str]  # connection id -> tenant id
    created_at: float
    auth_event_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    revoked: bool = False


@dataclass
class AccessToken:
    grant_id: str
    expires_at: float


@dataclass
class RefreshToken:
    grant_id: str
    expires_at: float
    used_at: float | None = None
    # The token set this refresh token was exchanged for, replayed if the caller retries within the grace.
    successor: dict[str, Any] | None = None


class IdentityStore:
    def __init__(self, clock: Clock, clients: list[Client]) -> None:
        self.clock = clock
        self.clients = {c.client_id: c for c in clients}
        self.grants: dict[str, Grant] = {}
        self.codes: dict[str, tuple[str, str, float]] = {}  # code -> (grant id, redirect uri, expiry)
        self.access_tokens: dict[str, AccessToken] = {}
        self.refresh_tokens: dict[str, RefreshToken] = {}

    # -- clients -----------------------------------------------------------------------------------
    def authenticate_client(self, client_id: str | None, client_secret: str | None) -> Client:
        client = self.clients.get(client_id or "")
        if client is None or not secrets.compare_digest(client.client_secret, client_secret or ""):
            raise OAuthError("invalid_client", status=400)
        return client

    def redirect_allowed(self, client: Client, redirect_uri: str) -> bool:
        if redirect_uri in client.redirect_uris:
            return True
        # Local demos and tests run receivers on loopback ports that cannot be registered in advance.
        return redirect_uri.startswith(
            ("http://127.0.0.1:", "http://localhost:", "http://127.0.0.1/", "http://localhost/")
        )

    # -- consent and tokens --------------------------------------------------------------------------
    def create_grant(self, client_id: str, scopes: list[str], tenant_ids: list[str]) -> Grant:
        grant = Grant(
            grant_id=str(uuid.uuid4()),
            client_id=client_id,
            scopes=scopes,
            connections={str(uuid.uuid4()): tenant_id for tenant_id in tenant_ids},
            created_at=self.clock.now(),
        )
        self.grants[grant.grant_id] = grant
        return grant

    def issue_code(self, grant: Grant, redirect_uri: str) -> str:
        code = secrets.token_urlsafe(24)
        self.codes[code] = (grant.grant_id, redirect_uri, self.clock.now() + self.clock.seconds(AUTH_CODE_SECONDS))
        return code

    def _token_set(self, grant: Grant, with_refresh: bool) -> dict[str, Any]:
        lifetime = max(1, round(self.clock.seconds(ACCESS_TOKEN_SECONDS)))
        now = int(self.clock.now())
        access = jwt_shaped(
            {
                "nbf": now,
                "exp": now + lifetime,
                "iss": ISSUER,
                "aud": f"{ISSUER}/resources",
                "client_id": grant.client_id,
                "sub": SANDBOX_USER_ID,
                "auth_time": int(grant.created_at),
                "xero_userid": SANDBOX_USER_ID,
                "global_session_id": grant.grant_id,
                "jti": secrets.token_hex(16),
                "authentication_event_id": grant.auth_event_id,
                "scope": grant.scopes,
            }
        )
        self.access_tokens[access] = AccessToken(grant.grant_id, self.clock.now() + lifetime)
        body: dict[str, Any] = {
            "access_token": access,
            "expires_in": lifetime,
            "token_type": "Bearer",
            "scope": " ".join(grant.scopes),
        }
        if "openid" in grant.scopes:
            body["id_token"] = jwt_shaped(
                {
                    "nbf": now,
                    "exp": now + 300,
                    "iss": ISSUER,
                    "aud": grant.client_id,
                    "iat": now,
                    "auth_time": int(grant.created_at),
                    "sub": SANDBOX_USER_ID,
                    "xero_userid": SANDBOX_USER_ID,
                    "global_session_id": grant.grant_id,
                    "preferred_username": "sandbox.user@example.test",
                    "email": "sandbox.user@example.test",
                    "given_name": "Sandbox",
                    "family_name": "User",
                }
            )
        if with_refresh:
            refresh = secrets.token_urlsafe(32)
            self.refresh_tokens[refresh] = RefreshToken(
                grant.grant_id, self.clock.now() + self.clock.seconds(REFRESH_TOKEN_SECONDS)
            )
            body["refresh_token"] = refresh
        return body

    def mint(self, client_id: str, scopes: list[str], tenant_ids: list[str]) -> dict[str, Any]:
        """A ready token set without the browser dance (sandbox admin use)."""
        grant = self.create_grant(client_id, scopes, tenant_ids)
        return self._token_set(grant, "offline_access" in scopes)

    def exchange_code(self, client: Client, code: str, redirect_uri: str) -> dict[str, Any]:
        entry = self.codes.pop(code, None)  # single use, even when the exchange then fails
        if entry is None:
            raise OAuthError("invalid_grant")
        grant_id, expected_redirect, expires_at = entry
        grant = self.grants[grant_id]
        if grant.client_id != client.client_id or redirect_uri != expected_redirect or self.clock.now() > expires_at:
            raise OAuthError("invalid_grant")
        return self._token_set(grant, "offline_access" in grant.scopes)

    def refresh(self, client: Client, token: str) -> dict[str, Any]:
        record = self.refresh_tokens.get(token)
        if record is None:
            raise OAuthError("invalid_grant")
        grant = self.grants.get(record.grant_id)
        now = self.clock.now()
        if grant is None or grant.revoked or grant.client_id != client.client_id or now > record.expires_at:
            raise OAuthError("invalid_grant")
        if record.used_at is not None:
            # A retry of a refresh whose answer was lost gets the same answer, but only within the grace
            # and only while that answer's own refresh token has not been used in turn.
            successor = record.successor or {}
            next_record = self.refresh_tokens.get(successor.get("refresh_token", ""))
            in_grace = now - record.used_at <= self.clock.seconds(REFRESH_GRACE_SECONDS)
            if in_grace and next_record is not None and next_record.used_at is None:
                return dict(successor)
            raise OAuthError("invalid_grant")
        body = self._token_set(grant, True)
        record.used_at = now
        record.successor = dict(body)
        return body

    def client_credentials(self, client: Client) -> dict[str, Any]:
        if not client.custom_tenant_ids:
            raise OAuthError("unauthorized_client", "Client is not a custom connection")
        scopes = sorted(s for s in KNOWN_SCOPES if s.startswith("accounting."))
        grant = self.create_grant(client.client_id, scopes, client.custom_tenant_ids)
        return self._token_set(grant, False)

    def revoke(self, client: Client, token: str) -> None:
        record = self.refresh_tokens.get(token)
        if record is None:
            return  # RFC 7009: unknown tokens are not an error
        grant = self.grants.get(record.grant_id)
        if grant is not None and grant.client_id == client.client_id:
            grant.revoked = True
            grant.connections.clear()

    # -- resource-server checks -------------------------------------------------------------------------
    def grant_for_access_token(self, token: str) -> tuple[Grant | None, str]:
        """The grant behind a bearer token, or None and the reason Xero gives."""
        record = self.access_tokens.get(token)
        if record is None:
            return None, "AuthenticationUnsuccessful"
        if self.clock.now() >= record.expires_at:
            return None, "TokenExpired"
        grant = self.grants.get(record.grant_id)
        if grant is None or grant.revoked:
            return None, "AuthenticationUnsuccessful"
        return grant, ""
