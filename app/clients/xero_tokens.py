"""Xero OAuth tokens in Redis, encrypted at rest, with refreshes serialised per connection.

Xero's refresh tokens are single-use: two workers refreshing the same token set leave one of them with
`invalid_grant`. So every refresh (`TokenStore.renew`) happens under a per-connection Redis lock that outlasts the
token call, re-reads the stored token first (another worker may have refreshed it already), and persists the
rotated token before anyone uses it. A refresh whose lock expired keeps whichever rotated token was saved first.

An optional `TokenBackup` keeps a copy of each sealed token set outside Redis (on the Dynamics connection row,
`app.token_backup`); `load` falls back to it when Redis has none.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from redis import Redis
from redis.exceptions import LockNotOwnedError

from app.errors import ConnectionLost, ConnectorError, Retryable

log = logging.getLogger(__name__)

KEY_PREFIX = "connector:xero:token"
REFRESH_MARGIN_SECONDS = 120  # refresh a little before expiry so a token never dies mid-call
LOCK_TIMEOUT_SECONDS = 30  # the least the refresh lock is held for; see TokenStore.lock_timeout
COPY_INTERVAL_SECONDS = 300  # the least time between two copies of a connection's token set outside Redis
DEFAULT_TOKEN_CALL_SECONDS = 40.0  # connect (10) + read (30) timeouts of one call to Xero's token endpoint


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


class TokenBackup(Protocol):
    """Somewhere outside Redis that keeps each connection's sealed (encrypted) token set, so losing Redis does
    not mean a person must reconnect Xero (`app.token_backup` keeps it on the Dynamics connection row)."""

    def keep(self, connection_id: str, sealed: str | None) -> None: ...

    def recall(self, connection_id: str) -> str | None: ...


class TokenStore:
    def __init__(
        self,
        connection: Redis,
        cipher: MultiFernet,
        *,
        backup: TokenBackup | None = None,
        token_call_seconds: float = DEFAULT_TOKEN_CALL_SECONDS,
    ) -> None:
        self.redis = connection
        self.cipher = cipher
        self.backup = backup
        # The lock must outlast the longest refresh (connect + read timeouts of the token call), with room for a
        # retry: a lock that expired mid-refresh would let a second worker spend the same refresh token.
        self.lock_timeout = max(LOCK_TIMEOUT_SECONDS, 2 * token_call_seconds + 10)

    def _key(self, connection_id: str) -> str:
        return f"{KEY_PREFIX}:{connection_id}"

    def seal(self, tokens: TokenSet) -> bytes:
        return self.cipher.encrypt(json.dumps({**tokens.__dict__, "scope": list(tokens.scope)}).encode())

    def save(self, connection_id: str, tokens: TokenSet) -> None:
        sealed = self.seal(tokens)
        self.redis.set(self._key(connection_id), sealed)
        if self.backup is not None and tokens.refresh_token:
            self._copy_rotation(connection_id, tokens.refresh_token, sealed.decode())

    def _copy_rotation(self, connection_id: str, refresh_token: str, sealed: str) -> None:
        """Copy a token set whose refresh token is new (an access token is renewed from it), at most once per
        COPY_INTERVAL_SECONDS per connection: Xero rotates about every 30 minutes, so each rotation is copied,
        while a burst of refreshes (say, a clock gone wrong) cannot flood Dynamics with writes."""
        digest = hashlib.sha256(refresh_token.encode()).hexdigest()
        copied = f"{KEY_PREFIX}:copied:{connection_id}"
        if self.redis.get(copied) is not None:
            return  # copied within the interval (this very token, or one a moment older)
        self._keep_copy(connection_id, sealed)
        self.redis.set(copied, digest, ex=COPY_INTERVAL_SECONDS)

    def _keep_copy(self, connection_id: str, sealed: str | None) -> None:
        if self.backup is None:
            return
        try:
            self.backup.keep(connection_id, sealed)
        except ConnectorError as exc:
            # Redis holds the token; the copy catches up at the next save. Losing Redis before then means the
            # copy's refresh token is the spent one, and the connection asks to be reconnected.
            log.warning(
                "could not keep a copy of the Xero token", extra={"connection_id": connection_id, "error": str(exc)}
            )

    def copy_out(self, connection_id: str) -> None:
        """Write the stored token set's copy again (its row did not exist when it was saved)."""
        stored = self.redis.get(self._key(connection_id))
        if stored is not None:
            self._keep_copy(connection_id, stored.decode())

    def load(self, connection_id: str) -> TokenSet | None:
        stored = self.redis.get(self._key(connection_id))
        if stored is None:
            stored = self._recall(connection_id)
            if stored is None:
                return None
        return self._open(connection_id, stored)

    def _recall(self, connection_id: str) -> bytes | None:
        """Redis has no token (replaced, or restarted without persistence): the copy outside it, put back."""
        if self.backup is None:
            return None
        sealed = self.backup.recall(connection_id)
        if not sealed:
            return None
        log.warning("Xero token restored from its copy in Dynamics", extra={"connection_id": connection_id})
        # NX: a token saved meanwhile (a refresh, a reconnect) is newer than the copy.
        self.redis.set(self._key(connection_id), sealed.encode(), nx=True)
        return self.redis.get(self._key(connection_id)) or sealed.encode()

    def _open(self, connection_id: str, stored: bytes) -> TokenSet:
        try:
            data = json.loads(self.cipher.decrypt(stored))
        except InvalidToken:
            raise ConnectionLost(
                f"stored Xero token for connection {connection_id} cannot be decrypted with the configured keys",
                user_message="The Xero connection must be reconnected (its stored authorisation is unreadable).",
            ) from None
        return TokenSet(**{**data, "scope": tuple(data["scope"])})

    def delete(self, connection_id: str) -> None:
        self.redis.delete(self._key(connection_id), f"{KEY_PREFIX}:copied:{connection_id}")
        self._keep_copy(connection_id, None)

    def fresh(self, connection_id: str, refresh: Refresher) -> TokenSet:
        """A token set good for a while: refreshed under the connection's lock when it is about to expire."""
        tokens = self._required(connection_id)
        if not tokens.expires_soon():
            return tokens
        return self.renew(connection_id, lambda current: current.expires_soon(), refresh)

    def renew_rejected(self, connection_id: str, rejected_access_token: str, refresh: Refresher) -> TokenSet:
        """Xero refused `rejected_access_token` as expired: renew it now, unless another worker already did."""
        return self.renew(connection_id, lambda current: current.access_token == rejected_access_token, refresh)

    def _required(self, connection_id: str) -> TokenSet:
        tokens = self.load(connection_id)
        if tokens is None:
            raise ConnectionLost(
                f"no Xero token stored for connection {connection_id}",
                user_message="Xero is not connected for this organisation: connect it first.",
            )
        return tokens

    def renew(self, connection_id: str, still_needed: Callable[[TokenSet], bool], refresh: Refresher) -> TokenSet:
        """Renew the connection's token set under its lock, if `still_needed` of the set read under the lock.

        Every refresh of a connection goes through here (workers, the scheduled refresh), so a single-use refresh
        token is spent once however many workers find it expiring together.
        """
        lock = self.redis.lock(
            f"{KEY_PREFIX}:lock:{connection_id}", timeout=self.lock_timeout, blocking_timeout=self.lock_timeout
        )
        if not lock.acquire():
            raise Retryable("another worker is still refreshing the Xero token", retry_after=5)
        try:
            tokens = self._required(connection_id)  # someone may have refreshed while we waited
            if not still_needed(tokens):
                return tokens
            try:
                renewed = refresh(tokens)
            except ConnectionLost:
                # Our lock expired and another worker spent the refresh token meanwhile: theirs is the good one.
                latest = self.load(connection_id)
                if latest is not None and latest.refresh_token != tokens.refresh_token:
                    return latest
                raise
            if not lock.owned():
                latest = self.load(connection_id)
                if latest is not None and latest.refresh_token != tokens.refresh_token:
                    log.warning(
                        "Xero token refresh outlived its lock; keeping the newer token",
                        extra={"connection_id": connection_id},
                    )
                    return latest
            self.save(connection_id, renewed)  # persisted before first use: a crash now loses nothing
            return renewed
        finally:
            try:
                lock.release()
            except LockNotOwnedError:
                log.warning("the Xero token lock expired during a refresh", extra={"connection_id": connection_id})
