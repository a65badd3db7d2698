"""Pytest fixtures for the sandbox Dataverse: a fresh server per test and a session that talks to it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from sandbox.dataverse.seed import SANDBOX_CONNECTOR_TOKEN
from sandbox.dataverse.server import RunningDataverse, serve_in_thread
from sandbox.dataverse.settings import DataverseSandboxSettings

ODATA_HEADERS = {
    "Accept": "application/json",
    "OData-MaxVersion": "4.0",
    "OData-Version": "4.0",
}


@pytest.fixture
def dataverse_sandbox() -> Iterator[RunningDataverse]:
    """A seeded sandbox Dataverse on a free loopback port; its Web API is at `.api_url`."""
    running = serve_in_thread(DataverseSandboxSettings(webhook_retry_delay_seconds=0.05))
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def dataverse_session(dataverse_sandbox: RunningDataverse) -> Iterator[requests.Session]:
    """A requests.Session with the connector's bearer token and the OData headers Dataverse expects."""
    session = requests.Session()
    session.headers.update({**ODATA_HEADERS, "Authorization": f"Bearer {SANDBOX_CONNECTOR_TOKEN}"})
    try:
        yield session
    finally:
        session.close()
