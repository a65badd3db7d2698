"""Xero OAuth tokens in Redis, encrypted at rest, with refreshes serialised per connection.

Xero's refresh tokens are single-use: two workers refreshing the same token set leave one of them with
`invalid_grant`. So a refresh happens under a per-connection Redis lock, re-reads the stored token first (another
worker may have refreshed it already), and persists the rotated token before anyone uses it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from redis import Redis

from app.errors import ConnectionLost, Retryable

KEY_PREFIX = "connector:xero:token"
REFRESH_MARGIN_SECONDS = 120  # refresh a little before expiry so a token never dies mid-call
LOCK_TIMEOUT_SECONDS = 30


def token_cipher(keys: Sequence[str]) -> MultiFernet:
    """Encrypts with the first key, decrypts with any: rotate by putting the new key first."""
    if not keys:
        raise ValueError("at least one token encryption key is needed")
    return MultiFernet([Fernet(key.encode() if isinstance(key, str) else key) for key in keys])


@dataclass(frozen=True)
class TokenSet:
    access_token: str
    refresh_token: str | None
    expires_at: float
    scope: tuple[str, ...]
    token_type: str = "Bearer"  # noqa: S105 - the OAuth token type, not a secret

    @classmethod
    def from_oauth_response(cls, body: Mapping[str, Any], now: float | None = None) -> TokenSet:
        issued = time.time() if now is None else now
        scope = body.get("scope", ())
        return cls(
            access_token=str(body["access_token"]),
            refresh_token=body.get("refresh_token"),
            expires_at=float(body.get("expires_at") or issued + float(body.get("expires_in", 1800))),
            scope=tuple(scope.split() if isinstance(scope, str) else scope),
            token_type=str(body.get("token_type", "Bearer")),
        )

    def expires_soon(self, now: float | None = None) -> bool:
        return (time.time() if now is None else now) >= self.expires_at - REFRESH_MARGIN_SECONDS

    def to_sdk(self) -> dict[str, Any]:
        """The exact dict the xero-python token getter must return (no other keys are allowed)."""
        sdk: dict[str, Any] = {
            "access_token": self.access_token,
            "scope": list(self.scope),
            "expires_in": max(int(self.expires_at - time.time()), 0),
            "expires_at": self.expires_at,
            "token_type": self.token_type,
        }
        if self.refresh_token:
            sdk["refresh_token"] = self.refresh_token
        return sdk


# A refresher takes the current token set and returns the new one (it calls Xero's token endpoint).
Refresher = Callable[[TokenSet], TokenSet]


class TokenStore:
    def __init__(self, connection: Redis, cipher: MultiFernet) -> None:
        self.redis = connection
        self.cipher = cipher

    def save(self, connection_id: str, tokens: TokenSet) -> None:
        plain = json.dumps({**tokens.__dict__, "scope": list(tokens.scope)}).encode()
        self.redis.set(f"{KEY_PREFIX}:{connection_id}", self.cipher.encrypt(plain))

    def load(self, connection_id: str) -> TokenSet | None:
        stored = self.redis.get(f"{KEY_PREFIX}:{connection_id}")
        if stored is None:
            return None
        try:
            data = json.loads(self.cipher.decrypt(stored))
        except InvalidToken:
            raise ConnectionLost(
                f"stored Xero token for connection {connection_id} cannot be decrypted with the configured keys",
                user_message="The Xero connection must be reconnected (its stored authorisation is unreadable).",
            ) from None
        return TokenSet(**{**data, "scope": tuple(data["scope"])})

    def delete(self, connection_id: str) -> None:
        self.redis.delete(f"{KEY_PREFIX}:{connection_id}")

    def fresh(self, connection_id: str, refresh: Refresher) -> TokenSet:
        """A token set good for a while: refreshed under the connection's lock when it is about to expire."""
        tokens = self.load(connection_id)
        if tokens is None:
            raise ConnectionLost(
                f"no Xero token stored for connection {connection_id}",
                user_message="Xero is not connected for this organisation: connect it first.",
            )
        if not tokens.expires_soon():
            return tokens
        lock = self.redis.lock(
            f"{KEY_PREFIX}:lock:{connection_id}", timeout=LOCK_TIMEOUT_SECONDS, blocking_timeout=LOCK_TIMEOUT_SECONDS
        )
        if not lock.acquire():
            raise Retryable("another worker is still refreshing the Xero token", retry_after=5)
        try:
            tokens = self.load(connection_id) or tokens  # someone may have refreshed while we waited
            if not tokens.expires_soon():
                return tokens
            renewed = refresh(tokens)
            self.save(connection_id, renewed)  # persisted before first use: a crash now loses nothing
            return renewed
        finally:
            lock.release()
