"""Dataverse's service protection shared by every worker: one budget and one pause in Redis."""

from __future__ import annotations

import pytest
import requests
from redis import Redis

from app.clients.dataverse import DataverseClient, DataverseUnavailable, RetryPolicy, StaticTokenSource
from app.clients.dataverse_limits import DataverseLimiter, DataverseLimits
from app.embedded_redis import free_port
from sandbox.dataverse.seed import SANDBOX_CONNECTOR_TOKEN
from sandbox.dataverse.server import RunningDataverse


def workers(sandbox: RunningDataverse, redis_conn, limits: DataverseLimits) -> list[DataverseClient]:
    """Two workers' clients, each with its own limiter object over the same Redis."""
    return [
        DataverseClient(
            sandbox.url,
            StaticTokenSource(SANDBOX_CONNECTOR_TOKEN),
            sleep=lambda _s: None,
            limiter=DataverseLimiter(redis_conn, sandbox.url, limits, max_wait_seconds=0.05),
        )
        for _ in range(2)
    ]


def requests_seen(sandbox: RunningDataverse) -> int:
    return sum(sandbox.sandbox.request_counts().values())


def test_the_request_budget_is_shared_by_every_worker(dataverse_sandbox: RunningDataverse, redis_conn) -> None:
    first, second = workers(dataverse_sandbox, redis_conn, DataverseLimits(per_window=2, window_seconds=60))
    dataverse_sandbox.sandbox.request_counts(clear=True)
    first.whoami()
    second.whoami()
    with pytest.raises(DataverseUnavailable) as caught:
        first.whoami()
    assert 55 <= caught.value.retry_after <= 60
    assert requests_seen(dataverse_sandbox) == 2, "the third request never left the connector"


def test_a_429_pauses_every_worker_for_its_retry_after(dataverse_sandbox: RunningDataverse, redis_conn) -> None:
    first, second = workers(dataverse_sandbox, redis_conn, DataverseLimits())
    first.retry = RetryPolicy(budget_seconds=0)  # give up at once, as a long wait would
    response = requests.put(
        f"{dataverse_sandbox.url}/_sandbox/service-protection",
        json={"budget": 0, "retry_after_seconds": 30},
        timeout=5,
    )
    assert response.status_code == 200
    with pytest.raises(DataverseUnavailable):
        first.whoami()  # Dataverse says 429, Retry-After: 30
    dataverse_sandbox.sandbox.request_counts(clear=True)
    with pytest.raises(DataverseUnavailable, match="paused after a 429") as caught:
        second.whoami()
    assert 25 <= caught.value.retry_after <= 30
    assert requests_seen(dataverse_sandbox) == 0, "the other worker did not spend a request Dataverse would refuse"


def test_a_worker_without_redis_still_calls_dataverse(dataverse_sandbox: RunningDataverse) -> None:
    unreachable = Redis(host="127.0.0.1", port=free_port(), socket_connect_timeout=0.2, retry=None)
    client = DataverseClient(
        dataverse_sandbox.url,
        StaticTokenSource(SANDBOX_CONNECTOR_TOKEN),
        limiter=DataverseLimiter(unreachable, dataverse_sandbox.url),
    )
    assert client.whoami().user_id
