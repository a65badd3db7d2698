"""The remote services a worker talks to, built once per worker process from the environment.

RQ runs each job in a forked work-horse, so the cache is keyed by process id: a fork rebuilds its own
clients (sockets must not be shared across processes) and then reuses them for the rest of its life.

Read from the environment (see the README's configuration table):
- Dataverse: `DATAVERSE_URL` with `DATAVERSE_TOKEN` (the sandbox) or `DATAVERSE_TENANT_ID`,
  `DATAVERSE_CLIENT_ID`, `DATAVERSE_CLIENT_SECRET` (MSAL), optional `DATAVERSE_RETRY_BUDGET_SECONDS` and
  `DATAVERSE_REQUEST_BUDGET` (service protection shared by all workers, see app.clients.dataverse_limits);
- Xero: everything `XeroSettings.from_environ` reads (`XERO_CLIENT_ID`, `XERO_CLIENT_SECRET`,
  `TOKEN_ENCRYPTION_KEYS`, `XERO_API_URL`, ...).

A worker with neither `DATAVERSE_URL` nor `XERO_CLIENT_ID` set is not connected to anything: `services_for`
answers None and the Dynamics -> Xero handlers only record that they received their job. Setting one but not
the other, or a wrong value, is a configuration error and fails the job with the problem named.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from redis import Redis

from app.clients.dataverse import DataverseClient, dataverse_client_from_env
from app.clients.dataverse_limits import DataverseLimiter, DataverseLimits
from app.clients.dataverse_token_cache import RedisTokenCache
from app.clients.xero import XeroGateways, XeroSettings
from app.clients.xero_tokens import token_cipher
from app.config import ConfigError
from app.connection_rows import ConnectionRowCache
from app.errors import Permanent
from app.sync_records import SyncRecords


@dataclass(frozen=True)
class Services:
    dataverse: DataverseClient
    xero: XeroGateways
    records: SyncRecords
    connection_rows: ConnectionRowCache

    @property
    def org_url(self) -> str:
        """The Dynamics organisation's address, for the link from Xero back to the record."""
        return self.dataverse.org_url


_cache: tuple[int, Services] | None = None


def is_configured(environ: Mapping[str, str]) -> bool:
    return bool(environ.get("DATAVERSE_URL", "").strip() or environ.get("XERO_CLIENT_ID", "").strip())


def build_services(connection: Redis, environ: Mapping[str, str]) -> Services:
    try:
        xero_settings = XeroSettings.from_environ(environ)
    except ConfigError as exc:
        raise Permanent(
            f"the worker's Xero settings are incomplete: {'; '.join(exc.problems)}",
            user_message="The connector is not configured for Xero; ask your administrator.",
        ) from None
    token_cache = RedisTokenCache(connection, token_cipher(xero_settings.token_encryption_keys))
    dataverse = dataverse_client_from_env(environ, token_cache=token_cache)
    dataverse.limiter = DataverseLimiter(connection, dataverse.org_url, dataverse_limits(environ))
    return Services(
        dataverse=dataverse,
        xero=XeroGateways(connection, xero_settings),
        records=SyncRecords(connection),
        connection_rows=ConnectionRowCache(connection),
    )


def dataverse_limits(environ: Mapping[str, str]) -> DataverseLimits:
    """`DATAVERSE_REQUEST_BUDGET`: requests per 5 minutes all workers share (default 6,000, Dataverse's own)."""
    raw = environ.get("DATAVERSE_REQUEST_BUDGET", "").strip()
    if not raw:
        return DataverseLimits()
    try:
        budget = int(raw)
    except ValueError:
        budget = 0
    if budget <= 0:
        raise Permanent(
            f"DATAVERSE_REQUEST_BUDGET must be a positive whole number of requests (got {raw!r})",
            user_message="The connector's Dataverse settings are wrong; ask your administrator.",
        )
    return DataverseLimits(per_window=budget)


def services_for(connection: Redis, environ: Mapping[str, str] | None = None) -> Services | None:
    """This process's services (built on first use), or None when the worker is connected to nothing."""
    global _cache
    env = os.environ if environ is None else environ
    if not is_configured(env):
        return None
    if _cache is None or _cache[0] != os.getpid():
        _cache = (os.getpid(), build_services(connection, env))
    return _cache[1]


def forget_services() -> None:
    """Drop the cached clients (tests that change the environment between runs)."""
    global _cache
    _cache = None
