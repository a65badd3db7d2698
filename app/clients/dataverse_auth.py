"""Where the Dataverse bearer token comes from.

A token source is any callable returning a bearer token (`TokenSource`); the client calls it before every
request, so it must be cheap and must renew tokens itself:

- `StaticTokenSource(token)`: a fixed token (`DATAVERSE_TOKEN`), for the sandbox and for short scripts.
- `MsalTokenSource(org_url, tenant_id, client_id, client_secret)`: client credentials through MSAL, the
  production path. msal caches the token inside its `ConfidentialClientApplication` and renews it before it
  expires, so one application object per process is kept (`msal_application`) and shared by every source with
  the same credentials. RQ runs each job in a fresh fork, where that in-memory cache starts empty; give the
  source a `shared_cache` (`TokenCacheStore`, e.g. `RedisTokenCache`) and a token obtained by one process
  serves all of them until it nears expiry, instead of one sign-in per job.

Failures are taxonomy errors: Microsoft refusing the credentials is `SignInFailed` (Permanent); not reaching
Microsoft at all is `DataverseUnavailable` (Retryable). No message or repr ever shows a token or the secret.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from dataclasses import dataclass
from typing import Any, Protocol

import msal
import requests

from app.clients.dataverse_errors import DataverseNotConfigured, DataverseUnavailable, SignInFailed, connection_problem

log = logging.getLogger(__name__)

AUTHORITY_BASE = "https://login.microsoftonline.com"
MSAL_TIMEOUT_SECONDS = 15.0
FRESH_MARGIN_SECONDS = 300
# Microsoft's answers that mean "try again later" rather than "these credentials are wrong".
TRANSIENT_SIGN_IN_ERRORS = frozenset({"temporarily_unavailable", "server_error"})


class TokenSource(Protocol):
    def __call__(self) -> str:
        """A bearer token valid for the next request."""
        ...


class StaticTokenSource:
    """A fixed bearer token; its repr hides the token."""

    __slots__ = ("_token",)

    def __init__(self, token: str) -> None:
        if not token.strip():
            raise DataverseNotConfigured("The Dataverse bearer token is empty")
        self._token = token.strip()

    def __call__(self) -> str:
        return self._token

    def __repr__(self) -> str:
        return "StaticTokenSource(<hidden>)"


class TokenCacheStore(Protocol):
    """Somewhere all processes share msal's serialised token cache; `partition` separates applications."""

    def load(self, partition: str) -> str | None: ...

    def save(self, partition: str, state: str) -> None: ...


@dataclass(frozen=True)
class MsalApplication:
    client: Any  # msal.ConfidentialClientApplication
    cache: msal.SerializableTokenCache


_applications: dict[tuple[str, str, str], MsalApplication] = {}
_applications_lock = threading.Lock()


def msal_application(authority: str, client_id: str, client_secret: str, http_client: Any = None) -> MsalApplication:
    """The process-wide ConfidentialClientApplication for these credentials (created on first use).

    Keyed by a digest of the secret, so a rotated secret gets a new application and the old one is dropped.
    Creating one contacts Microsoft (authority discovery), hence the lazy creation inside a token call.
    `http_client` is msal's own option (a requests-like session, e.g. for a proxy).
    """
    key = (authority, client_id, hashlib.sha256(client_secret.encode()).hexdigest())
    with _applications_lock:
        application = _applications.get(key)
        if application is None:
            for stale in [k for k in _applications if k[:2] == key[:2]]:
                del _applications[stale]
            cache = msal.SerializableTokenCache()
            options: dict[str, Any] = {"http_client": http_client} if http_client is not None else {}
            client = msal.ConfidentialClientApplication(
                client_id,
                client_credential=client_secret,
                authority=authority,
                timeout=MSAL_TIMEOUT_SECONDS,
                token_cache=cache,
                **options,
            )
            application = MsalApplication(client, cache)
            _applications[key] = application
        return application


def forget_msal_applications() -> None:
    """Drop every cached application (tests; a process that must sign in afresh)."""
    with _applications_lock:
        _applications.clear()


class MsalTokenSource:
    """Client-credentials tokens for `<org_url>/.default` from Microsoft Entra ID, cached by msal."""

    def __init__(
        self,
        org_url: str,
        tenant_id: str,
        client_id: str,
        client_secret: str,
        *,
        shared_cache: TokenCacheStore | None = None,
        http_client: Any = None,
    ) -> None:
        self.authority = f"{AUTHORITY_BASE}/{tenant_id}"
        self.scopes = [f"{org_url.rstrip('/')}/.default"]
        self.tenant_id = tenant_id
        self.client_id = client_id
        self._client_secret = client_secret
        self._shared_cache = shared_cache
        self._http_client = http_client
        self._partition = f"{tenant_id}:{client_id}"

    def __repr__(self) -> str:
        return f"MsalTokenSource(tenant_id={self.tenant_id!r}, client_id={self.client_id!r})"

    def __call__(self) -> str:
        application = self._application()
        if self._shared_cache is not None and not _has_fresh_token(application.cache, self.scopes):
            self._load_shared(self._shared_cache, application.cache)
        try:
            result = application.client.acquire_token_for_client(scopes=self.scopes)
        except requests.exceptions.RequestException as exc:
            raise self._unreachable(exc) from None
        except ValueError:  # an answer that is not msal's JSON: a proxy or an outage page, not our credentials
            raise DataverseUnavailable(f"Microsoft sign-in at {self.authority} gave an unreadable answer") from None
        if self._shared_cache is not None and application.cache.has_state_changed:
            self._shared_cache.save(self._partition, application.cache.serialize())
        return self._token_from(result)

    def _application(self) -> MsalApplication:
        try:
            return msal_application(self.authority, self.client_id, self._client_secret, self._http_client)
        except requests.exceptions.RequestException as exc:
            raise self._unreachable(exc) from None
        except ValueError as exc:  # msal's way of rejecting a malformed tenant or authority
            raise SignInFailed(
                f"Microsoft sign-in rejected the tenant {self.tenant_id!r}: {_first_line(str(exc))} "
                "(check DATAVERSE_TENANT_ID)"
            ) from None

    def _load_shared(self, store: TokenCacheStore, cache: msal.SerializableTokenCache) -> None:
        state = store.load(self._partition)
        if not state:
            return
        try:
            cache.deserialize(state)
        except ValueError:  # not msal's JSON: ignore it, the next sign-in overwrites it
            log.warning("Shared Dataverse token cache is not readable; signing in afresh")

    def _unreachable(self, exc: requests.exceptions.RequestException) -> DataverseUnavailable:
        return DataverseUnavailable(f"Cannot reach Microsoft sign-in at {self.authority} ({connection_problem(exc)})")

    def _token_from(self, result: Any) -> str:
        if isinstance(result, dict) and result.get("access_token"):
            return str(result["access_token"])
        error = str((result or {}).get("error") or "unknown_error")
        description = _first_line(str((result or {}).get("error_description") or ""))
        message = (
            f"Microsoft sign-in failed for client {self.client_id} in tenant {self.tenant_id}: {error}: {description}"
        ).rstrip(": ")
        if error in TRANSIENT_SIGN_IN_ERRORS:
            raise DataverseUnavailable(message)
        raise SignInFailed(message + " (check DATAVERSE_TENANT_ID, DATAVERSE_CLIENT_ID and DATAVERSE_CLIENT_SECRET)")


def _has_fresh_token(cache: msal.SerializableTokenCache, scopes: list[str]) -> bool:
    """Whether this process already holds a token msal would use (it renews those with under 5 minutes left)."""
    soon = time.time() + FRESH_MARGIN_SECONDS
    found = cache.search(msal.TokenCache.CredentialType.ACCESS_TOKEN, target=scopes)
    return any(int(entry.get("expires_on", 0)) > soon for entry in found)


def _first_line(text: str) -> str:
    """Microsoft's descriptions continue with trace and correlation ids; the first line says what went wrong."""
    stripped = text.strip()
    return stripped.splitlines()[0] if stripped else ""
