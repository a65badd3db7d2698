"""The connect flow end to end: the Flask app in-process, the sandbox Xero's identity server and a provisioned
sandbox Dataverse, all over real HTTP on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from cryptography.fernet import Fernet
from flask.testing import FlaskClient
from redis import Redis

from app import create_app
from app import dynamics_schema as schema
from app.clients.xero_settings import XeroSettings
from app.clients.xero_tokens import TokenStore, token_cipher
from app.services import forget_services
from sandbox.dataverse.seed import SANDBOX_CONNECTOR_TOKEN
from sandbox.dataverse.server import RunningDataverse, serve_in_thread
from sandbox.dataverse.settings import DataverseSandboxSettings
from sandbox.xero import RunningSandbox
from sandbox.xero.settings import CUSTOM_CLIENT_ID, CUSTOM_CLIENT_SECRET
from tests.helpers import settings_for
from tests.stack_helpers import provision_sandbox, xero_env

ADMIN_TOKEN = "connect-admin-secret"
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


@pytest.fixture(scope="module")
def provisioned_dataverse() -> Iterator[RunningDataverse]:
    """One provisioned sandbox Dataverse per module (provisioning is the slow part); rows are cleared per test."""
    running = serve_in_thread(DataverseSandboxSettings())
    provision_sandbox(running)
    try:
        yield running
    finally:
        running.stop()


@dataclass
class Dynamics:
    """Reads and writes the sandbox Dataverse as the connector's user."""

    api: str
    session: requests.Session

    def connections(self) -> list[dict[str, Any]]:
        response = self.session.get(self.api + schema.CONNECTION_ENTITY_SET)
        response.raise_for_status()
        return list(response.json()["value"])

    def connection(self, connection_id: str) -> dict[str, Any]:
        response = self.session.get(f"{self.api}{schema.CONNECTION_ENTITY_SET}({connection_id})")
        response.raise_for_status()
        return dict(response.json())

    def create_connection(self, body: dict[str, Any]) -> str:
        response = self.session.post(
            self.api + schema.CONNECTION_ENTITY_SET, json=body, headers={"Prefer": "return=representation"}
        )
        response.raise_for_status()
        return str(response.json()[schema.CONNECTION_ID])

    def history(self, connection_id: str) -> list[dict[str, Any]]:
        """The connection's Sync History rows, oldest first."""
        response = self.session.get(
            self.api + schema.SYNC_HISTORY_ENTITY_SET,
            params={
                "$filter": f"_{schema.SYNC_HISTORY_CONNECTION}_value eq {connection_id}",
                "$orderby": f"{schema.SYNC_HISTORY_OCCURRED_ON} asc",
            },
        )
        response.raise_for_status()
        return list(response.json()["value"])

    def clear(self) -> None:
        response = self.session.get(self.api + schema.SYNC_HISTORY_ENTITY_SET)
        response.raise_for_status()
        for row in response.json()["value"]:
            self.session.delete(
                f"{self.api}{schema.SYNC_HISTORY_ENTITY_SET}({row[schema.SYNC_HISTORY_TABLE.primary_id]})"
            )
        for row in self.connections():
            self.session.delete(f"{self.api}{schema.CONNECTION_ENTITY_SET}({row[schema.CONNECTION_ID]})")


@pytest.fixture
def dynamics(provisioned_dataverse: RunningDataverse) -> Iterator[Dynamics]:
    session = requests.Session()
    session.headers.update(
        {"Accept": "application/json", "OData-Version": "4.0", "Authorization": f"Bearer {SANDBOX_CONNECTOR_TOKEN}"}
    )
    org = Dynamics(provisioned_dataverse.api_url, session)
    org.clear()
    yield org
    session.close()


@dataclass
class Connector:
    """The web app and what it stores, configured the way the environment configures a real deployment."""

    client: FlaskClient
    redis: Redis
    xero_settings: XeroSettings

    @property
    def tokens(self) -> TokenStore:
        return TokenStore(self.redis, token_cipher(self.xero_settings.token_encryption_keys))


def connector_env(xero: RunningSandbox, dataverse: RunningDataverse, **extra: str) -> dict[str, str]:
    return {
        "DATAVERSE_URL": dataverse.url,
        "DATAVERSE_TOKEN": SANDBOX_CONNECTOR_TOKEN,
        **xero_env(xero, Fernet.generate_key().decode()),
        **extra,
    }


def custom_env() -> dict[str, str]:
    return {
        "XERO_CUSTOM_CONNECTION": "true",
        "XERO_CLIENT_ID": CUSTOM_CLIENT_ID,
        "XERO_CLIENT_SECRET": CUSTOM_CLIENT_SECRET,
    }


@pytest.fixture
def make_connector(monkeypatch, redis_url, redis_conn, xero_sandbox, provisioned_dataverse, dynamics):
    """`make_connector(**env)`: the app with these environment overrides (e.g. `custom_env()`)."""
    made: list[Connector] = []

    def make(**extra: str) -> Connector:
        env = connector_env(xero_sandbox, provisioned_dataverse, **extra)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        forget_services()
        app = create_app(settings_for(redis_url, admin_token=ADMIN_TOKEN), redis=redis_conn)
        connector = Connector(app.test_client(), redis_conn, XeroSettings.from_environ(env))
        made.append(connector)
        return connector

    yield make
    forget_services()


@pytest.fixture
def connector(make_connector) -> Connector:
    return make_connector()


def consent(client: FlaskClient, approve: str) -> tuple[str, dict[str, str]]:
    """Start at /xero/connect, let the sandbox approve `approve` (tenant ids or "all"), and return the callback
    path and query the browser would be sent to."""
    start = client.get("/xero/connect", headers=ADMIN)
    assert start.status_code == 302, start.data
    authorize = requests.get(start.headers["Location"] + f"&auto_approve={approve}", allow_redirects=False, timeout=10)
    assert authorize.status_code == 302, authorize.text
    back = urlsplit(authorize.headers["Location"])
    return back.path, {k: v[0] for k, v in parse_qs(back.query).items()}
