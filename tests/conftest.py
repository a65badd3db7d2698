"""Shared fixtures: every test session starts its own Redis on a free port and never touches another."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis

from app.embedded_redis import EmbeddedRedis
from app.logs import set_correlation_id


@pytest.fixture(autouse=True)
def no_inherited_correlation_id() -> None:
    """A job run in-process keeps its correlation id in the test's context: start each test without one."""
    set_correlation_id(None)


@pytest.fixture(scope="session")
def redis_server() -> Iterator[EmbeddedRedis]:
    with EmbeddedRedis() as server:
        yield server


@pytest.fixture
def redis_url(redis_server: EmbeddedRedis) -> Iterator[str]:
    """A clean database on the suite's own server for each test (flushing it is safe: it is ours)."""
    client = redis.Redis.from_url(redis_server.url)
    client.flushdb()
    client.close()
    yield redis_server.url


@pytest.fixture
def redis_conn(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


# Fixtures for the sandbox servers live beside their owners' tests and are shared with every test module.
pytest_plugins = ["tests.plugins.sandbox_xero", "tests.plugins.sandbox_dataverse"]
