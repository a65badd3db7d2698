"""The remote services a worker talks to, built once per worker process from the one configuration.

RQ runs each job in a forked work-horse, so the cache is keyed by process id: a fork rebuilds its own
clients (sockets must not be shared across processes) and then reuses them for the rest of its life.

Settings: the DATAVERSE_* and XERO_* ones of `app.config.Settings` (see the README's configuration table).

A worker with neither `DATAVERSE_URL` nor `XERO_CLIENT_ID` set is not connected to anything: `services_for`
answers None and the Dynamics -> Xero handlers only record that they received their job. Setting one but not
the other, or a wrong value, stops the worker at start with the problems named.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from redis import Redis

from app.clients.dataverse import DataverseClient, dataverse_client_from_settings
from app.clients.dataverse_limits import DataverseLimiter, DataverseLimits
from app.clients.dataverse_token_cache import RedisTokenCache
from app.clients.xero import XeroGateways, XeroSettings
from app.clients.xero_tokens import token_cipher
from app.config import ConfigError, Settings, load_settings
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


def build_services(connection: Redis, settings: Settings) -> Services:
    xero_settings = XeroSettings.from_settings(settings)
    token_cache = RedisTokenCache(connection, token_cipher(xero_settings.token_encryption_keys))
    dataverse = dataverse_client_from_settings(settings, token_cache=token_cache)
    # Service protection shared by every worker (app.clients.dataverse_limits).
    dataverse.limiter = DataverseLimiter(
        connection, dataverse.org_url, DataverseLimits(per_window=settings.dataverse_request_budget)
    )
    return Services(
        dataverse=dataverse,
        xero=XeroGateways(connection, xero_settings),
        records=SyncRecords(connection),
        connection_rows=ConnectionRowCache(connection),
    )


def services_for(connection: Redis, environ: Mapping[str, str] | None = None) -> Services | None:
    """This process's services (built on first use), or None when the worker is connected to nothing.

    The worker checked the same settings at start (`settings_or_exit("worker")`), so a problem here means the
    environment changed under a running process: the job fails with the problems named."""
    global _cache
    if _cache is None or _cache[0] != os.getpid():
        try:
            settings = load_settings(environ, role="services")
        except ConfigError as exc:
            raise Permanent(
                f"the worker's settings are incomplete: {'; '.join(exc.problems)}",
                user_message="The connector is not configured for Xero; ask your administrator.",
            ) from None
        if not settings.connected:
            return None
        _cache = (os.getpid(), build_services(connection, settings))
    return _cache[1]


def forget_services() -> None:
    """Drop the cached clients (tests that change the environment between runs)."""
    global _cache
    _cache = None
