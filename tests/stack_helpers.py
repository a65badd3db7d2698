"""Set-up shared by the tests that run the connector against both sandboxes over loopback HTTP.

`worker_stack` provisions the sandbox Dataverse, points the worker's environment at both sandboxes and opens
the Redis client, the sandbox Xero's admin client and the encrypted token store; `DataverseApi` reads and
writes the sandbox Web API as one user; `done_job_ids` is the bookkeeping for running queued jobs in-process.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
import requests
from cryptography.fernet import Fernet
from redis import Redis

from app import dispatch
from app.clients.xero_tokens import TokenSet, TokenStore, token_cipher
from app.queue import ALL_QUEUES, JobQueue
from app.services import forget_services
from plugins_registration.auth import static_token
from plugins_registration.provision import provision
from plugins_registration.report import ChangeReport
from plugins_registration.webapi import WebApi
from sandbox.dataverse.seed import SANDBOX_CONNECTOR_TOKEN
from sandbox.dataverse.server import RunningDataverse
from sandbox.xero import RunningSandbox
from sandbox.xero.admin_client import SandboxAdmin
from tests.helpers import settings_env

ODATA = {"Accept": "application/json", "OData-MaxVersion": "4.0", "OData-Version": "4.0"}
ANNOTATED = {"Prefer": 'odata.include-annotations="*"'}


class DataverseApi:
    """The sandbox Web API as one user (by default the connector's own, for setting up and checking)."""

    def __init__(self, api_url: str, token: str = SANDBOX_CONNECTOR_TOKEN) -> None:
        self.api_url = api_url
        self.session = requests.Session()
        self.session.headers.update({**ODATA, "Authorization": f"Bearer {token}"})

    def create(self, entity_set: str, body: dict[str, Any]) -> dict[str, Any]:
        response = self.session.post(
            self.api_url + entity_set, json=body, headers={"Prefer": "return=representation"}, timeout=10
        )
        assert response.status_code == 201, response.text
        return dict(response.json())

    def update(self, entity_set: str, row_id: str, body: dict[str, Any]) -> None:
        response = self.session.patch(
            f"{self.api_url}{entity_set}({row_id})", json=body, headers={"If-Match": "*"}, timeout=10
        )
        assert response.status_code == 204, response.text

    def delete(self, entity_set: str, row_id: str) -> None:
        response = self.session.delete(f"{self.api_url}{entity_set}({row_id})", timeout=10)
        assert response.status_code == 204, response.text

    def get(self, entity_set: str, row_id: str) -> dict[str, Any]:
        response = self.session.get(f"{self.api_url}{entity_set}({row_id})", headers=ANNOTATED, timeout=10)
        assert response.status_code == 200, response.text
        return dict(response.json())

    def rows(self, entity_set: str, **params: str) -> list[dict[str, Any]]:
        response = self.session.get(self.api_url + entity_set, params=params, headers=ANNOTATED, timeout=10)
        assert response.status_code == 200, response.text
        return list(response.json()["value"])


def connector_web_api(dataverse: RunningDataverse) -> WebApi:
    """The registration tool's client for the sandbox, signed in as the connector's user."""
    return WebApi(dataverse.url.rstrip("/"), static_token(SANDBOX_CONNECTOR_TOKEN))


def quiet_report() -> ChangeReport:
    return ChangeReport(out=lambda _: None)


def provision_sandbox(dataverse: RunningDataverse) -> None:
    """The connector's tables, columns and option sets in the sandbox Dataverse.

    Forms, views, roles and the app are left out: the connector never reads them, and the page tests that
    look at them install them themselves (`plugins_registration.customize.provision_ui`).
    """
    provision(connector_web_api(dataverse), quiet_report(), customizations=False)


def xero_env(xero: RunningSandbox, keys: str) -> dict[str, str]:
    """The connector's settings for sandbox Xero as its app, with tokens encrypted under `keys`."""
    url = xero.url.rstrip("/")
    return {
        "XERO_CLIENT_ID": xero.settings.client_id,
        "XERO_CLIENT_SECRET": xero.settings.client_secret,
        "TOKEN_ENCRYPTION_KEYS": keys,
        "XERO_API_URL": url,
        "XERO_IDENTITY_URL": url,
        "XERO_LOGIN_URL": url,
        "XERO_REQUEST_TIMEOUT_SECONDS": "10",
    }


@dataclass
class Stack:
    """What a worker needs besides its environment: Redis, sandbox Xero's admin side and the token store."""

    redis: Redis
    xero: SandboxAdmin
    tokens: TokenStore


def store_token(tokens: TokenStore, xero: SandboxAdmin, connection_id: str, tenant_id: str) -> None:
    """A freshly minted token set for `tenant_id`, saved for the connection as the connect flow would."""
    tokens.save(connection_id, TokenSet.from_oauth_response(xero.mint_token([tenant_id])))


@contextmanager
def worker_stack(
    dataverse: RunningDataverse, xero: RunningSandbox, redis_url: str, monkeypatch: pytest.MonkeyPatch, **extra_env: str
) -> Iterator[Stack]:
    """A provisioned sandbox Dataverse and the worker's environment for both sandboxes (plus `extra_env`).

    The cached environment and services are dropped on the way in and out, so jobs read this one afresh.
    """
    provision_sandbox(dataverse)
    keys = Fernet.generate_key().decode()
    env = {
        **settings_env(redis_url),
        "DATAVERSE_URL": dataverse.url.rstrip("/"),
        "DATAVERSE_TOKEN": SANDBOX_CONNECTOR_TOKEN,
        "DATAVERSE_RETRY_BUDGET_SECONDS": "2",
        **xero_env(xero, keys),
        **extra_env,
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setattr(dispatch, "_environment", None)
    forget_services()
    redis = Redis.from_url(redis_url)
    admin = SandboxAdmin(xero.url, xero.settings.admin_token)
    try:
        yield Stack(redis=redis, xero=admin, tokens=TokenStore(redis, token_cipher([keys])))
    finally:
        admin.close()
        redis.close()
        forget_services()


def done_job_ids(jobs: JobQueue) -> set[str]:
    """The ids of every job that has finished or failed, on every queue."""
    ids: set[str] = set()
    for name in ALL_QUEUES:
        queue = jobs.queue(name)
        ids |= set(queue.finished_job_registry.get_job_ids()) | set(queue.failed_job_registry.get_job_ids())
    return ids
