"""Fixtures for the DataverseClient tests: a client for the sandbox Dataverse that records every request sent."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from app.clients.dataverse import DataverseClient, StaticTokenSource
from sandbox.dataverse.seed import SANDBOX_CONNECTOR_TOKEN
from sandbox.dataverse.server import RunningDataverse

# A well-formed id that no seeded or created row has.
MISSING_ID = "5c0e0a5e-0000-4000-8000-00000000dead"


@pytest.fixture
def calls() -> list[requests.PreparedRequest]:
    """The requests `client` has sent, in order (its session's response hook appends them)."""
    return []


@pytest.fixture
def client(dataverse_sandbox: RunningDataverse, calls: list[requests.PreparedRequest]) -> Iterator[DataverseClient]:
    session = requests.Session()
    session.hooks["response"].append(lambda response, *args, **kwargs: calls.append(response.request))
    with DataverseClient(dataverse_sandbox.url, StaticTokenSource(SANDBOX_CONNECTOR_TOKEN), session) as made:
        yield made
    session.close()
