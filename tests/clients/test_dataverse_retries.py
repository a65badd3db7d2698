"""Retries within a bounded wait: service protection (sandbox Dataverse), gateway errors and lost connections.

Gateway errors come from a tiny loopback server answering canned responses, since the sandbox Dataverse
does not fail on demand; waits are recorded (and, against the sandbox, really slept where time must pass).
"""

from __future__ import annotations

import json
import logging
import socketserver
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import pytest
import requests
from werkzeug.serving import BaseWSGIServer, make_server
from werkzeug.wrappers import Request, Response

from app.clients.dataverse import DataverseClient, DataverseUnavailable, RetryPolicy, StaticTokenSource, odata_literal
from app.clients.dataverse_retry import parse_retry_after
from app.embedded_redis import free_port
from app.errors import Retryable
from sandbox.dataverse.seed import CONNECTOR_USER_ID, SANDBOX_CONNECTOR_TOKEN
from sandbox.dataverse.server import RunningDataverse

ACCOUNT_ID = "5c0e0a5e-0000-4000-8000-000000000401"
ACCOUNT_BODY = {"accountid": ACCOUNT_ID, "name": "Contoso Ltd"}


class Waits(list[float]):
    """Records every wait the client asks for; really sleeps only when told to."""

    def __init__(self, real: bool = False) -> None:
        super().__init__()
        self.real = real

    def __call__(self, seconds: float) -> None:
        self.append(seconds)
        if self.real:
            time.sleep(seconds)


def set_service_protection(sandbox: RunningDataverse, **settings: Any) -> None:
    response = requests.put(f"{sandbox.url}/_sandbox/service-protection", json=settings, timeout=5)
    assert response.status_code == 200, response.text


# ---- service protection, against the sandbox Dataverse -------------------------------------------------------


def test_429_waits_the_retry_after_then_succeeds(dataverse_sandbox: RunningDataverse) -> None:
    waits = Waits(real=True)
    client = DataverseClient(dataverse_sandbox.url, StaticTokenSource(SANDBOX_CONNECTOR_TOKEN), sleep=waits)
    set_service_protection(dataverse_sandbox, budget=1, window_seconds=1, retry_after_seconds=1)
    assert client.whoami().user_id == CONNECTOR_USER_ID  # spends the whole budget
    assert client.whoami().user_id == CONNECTOR_USER_ID  # 429, waits 1 s, the window has moved on
    assert waits == [1.0]


def test_a_throttled_create_is_retried_and_made_once(dataverse_sandbox: RunningDataverse) -> None:
    waits = Waits(real=True)
    client = DataverseClient(dataverse_sandbox.url, StaticTokenSource(SANDBOX_CONNECTOR_TOKEN), sleep=waits)
    set_service_protection(dataverse_sandbox, budget=1, window_seconds=1, retry_after_seconds=1)
    client.whoami()
    created = client.create("accounts", {"name": "Throttled Ltd"})
    assert waits == [1.0]
    set_service_protection(dataverse_sandbox, budget=None)
    found = client.query("accounts", filter="name eq " + odata_literal("Throttled Ltd"), select="name")
    assert [row["accountid"] for row in found] == [created]


def test_a_wait_beyond_the_budget_reschedules_instead_of_blocking(dataverse_sandbox: RunningDataverse) -> None:
    waits = Waits()
    client = DataverseClient(
        dataverse_sandbox.url,
        StaticTokenSource(SANDBOX_CONNECTOR_TOKEN),
        sleep=waits,
        retry=RetryPolicy(budget_seconds=20),
    )
    set_service_protection(dataverse_sandbox, budget=0, retry_after_seconds=300)
    with pytest.raises(DataverseUnavailable) as caught:
        client.get("accounts", ACCOUNT_ID)
    error = caught.value
    assert isinstance(error, Retryable)
    assert error.retry_after == 300
    assert error.status == 429
    assert waits == []  # asked for 300 s with 20 s of budget: no point waiting at all
    assert not error.outcome_unknown


def test_retries_stop_when_the_budget_is_spent(dataverse_sandbox: RunningDataverse) -> None:
    waits = Waits()
    client = DataverseClient(
        dataverse_sandbox.url,
        StaticTokenSource(SANDBOX_CONNECTOR_TOKEN),
        sleep=waits,
        retry=RetryPolicy(budget_seconds=2.5),
    )
    set_service_protection(dataverse_sandbox, budget=0, retry_after_seconds=1)
    with pytest.raises(DataverseUnavailable) as caught:
        client.query("accounts")
    assert waits == [1.0, 1.0]
    assert caught.value.retry_after == 1.0
    assert "Dynamics 365 is busy" in caught.value.user_message


# ---- gateway errors and lost connections, against canned answers ---------------------------------------------


@dataclass
class Canned:
    status: int
    body: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class CannedServer:
    """Answers each request with the next canned response (the last one repeats) and records what it got."""

    answers: list[Canned]
    seen: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    server: BaseWSGIServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_port}"

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        self.seen.append((request.method, request.full_path, dict(request.headers)))
        answer = self.answers[min(len(self.seen), len(self.answers)) - 1]
        body = json.dumps(answer.body) if answer.body is not None else ""
        headers = {"OData-Version": "4.0", **answer.headers}
        return Response(body, answer.status, headers, content_type="application/json")(environ, start_response)


@pytest.fixture
def canned() -> Iterator[CannedServer]:
    stub = CannedServer([])
    stub.server = make_server("127.0.0.1", 0, stub, threaded=True)
    thread = threading.Thread(target=stub.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield stub
    finally:
        stub.server.shutdown()
        stub.server.server_close()
        thread.join(timeout=5)


def unavailable(status: int = 503, **headers: str) -> Canned:
    return Canned(status, {"error": {"code": "0x80040216", "message": "The service is unavailable."}}, headers)


def test_gateway_errors_on_a_read_are_retried_with_backoff(canned: CannedServer) -> None:
    canned.answers = [unavailable(503), unavailable(502), Canned(200, ACCOUNT_BODY)]
    waits = Waits()
    client = DataverseClient(canned.url, StaticTokenSource("t-123"), sleep=waits)
    assert client.get("accounts", ACCOUNT_ID)["name"] == "Contoso Ltd"
    assert waits == [0.5, 1.0]
    assert len(canned.seen) == 3
    assert all(headers["Authorization"] == "Bearer t-123" for _, _, headers in canned.seen)


def test_a_server_error_after_the_budget_is_retryable(canned: CannedServer) -> None:
    canned.answers = [unavailable(500)]
    waits = Waits()
    client = DataverseClient(
        canned.url,
        StaticTokenSource("t-123"),
        sleep=waits,
        retry=RetryPolicy(budget_seconds=1.6, backoff_base_seconds=0.5),
    )
    with pytest.raises(DataverseUnavailable) as caught:
        client.update("accounts", ACCOUNT_ID, {"name": "x"})
    assert waits == [0.5, 1.0]  # the next (2.0 s) would pass the 1.6 s budget
    assert caught.value.retry_after == 2.0
    assert caught.value.status == 500
    assert "The service is unavailable." in str(caught.value)


def test_a_create_is_not_repeated_after_a_gateway_error(canned: CannedServer) -> None:
    canned.answers = [unavailable(504), Canned(204, None, {"OData-EntityId": "x/accounts(" + ACCOUNT_ID + ")"})]
    waits = Waits()
    client = DataverseClient(canned.url, StaticTokenSource("t-123"), sleep=waits)
    with pytest.raises(DataverseUnavailable) as caught:
        client.create("accounts", {"name": "Maybe made"})
    assert caught.value.outcome_unknown
    assert len(canned.seen) == 1 and waits == []


def test_a_retry_after_date_is_honoured(canned: CannedServer) -> None:
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=120), usegmt=True)
    canned.answers = [Canned(429, {"error": {"code": "0x80072322", "message": "Too many"}}, {"Retry-After": when})]
    client = DataverseClient(canned.url, StaticTokenSource("t-123"), sleep=Waits())
    with pytest.raises(DataverseUnavailable) as caught:
        client.whoami()
    assert caught.value.retry_after is not None and 100 < caught.value.retry_after <= 120


def test_no_connection_retries_reads_and_creates_then_reschedules(caplog: pytest.LogCaptureFixture) -> None:
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens here
    waits = Waits()
    client = DataverseClient(
        url,
        StaticTokenSource("secret-token-abc"),
        sleep=waits,
        retry=RetryPolicy(budget_seconds=1.0),
        timeout=(2.0, 2.0),
    )
    with caplog.at_level(logging.WARNING, logger="app.clients.dataverse"), pytest.raises(DataverseUnavailable) as read:
        client.get("accounts", ACCOUNT_ID)
    assert waits == [0.5]
    assert "connection failed" in str(read.value)
    assert read.value.retry_after == 1.0
    # A refused connection never reached Dataverse, so even a create may be tried again.
    with pytest.raises(DataverseUnavailable) as create:
        client.create("accounts", {"name": "x"})
    assert not create.value.outcome_unknown
    assert waits == [0.5, 0.5]
    assert caplog.records and all("secret-token-abc" not in record.getMessage() for record in caplog.records)
    assert "secret-token-abc" not in str(read.value) + str(create.value)


class HangUp(socketserver.BaseRequestHandler):
    """Reads a request and closes the connection without answering: an answer lost after the work was done."""

    def handle(self) -> None:
        self.server.requests_seen += 1  # type: ignore[attr-defined]
        self.request.recv(65536)


@pytest.fixture
def hang_up() -> Iterator[socketserver.ThreadingTCPServer]:
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), HangUp)
    server.requests_seen = 0  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_a_lost_answer_to_a_create_is_not_repeated(hang_up: socketserver.ThreadingTCPServer) -> None:
    waits = Waits()
    client = DataverseClient(f"http://127.0.0.1:{hang_up.server_address[1]}", StaticTokenSource("t"), sleep=waits)
    with pytest.raises(DataverseUnavailable) as create:
        client.create("accounts", {"name": "Maybe made"})
    assert create.value.outcome_unknown and "unknown" in str(create.value)
    assert hang_up.requests_seen == 1 and waits == []  # type: ignore[attr-defined]
    with pytest.raises(DataverseUnavailable) as read:
        client.get("accounts", ACCOUNT_ID)
    assert not read.value.outcome_unknown
    assert len(waits) >= 2 and hang_up.requests_seen == 2 + len(waits)  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("7", 7.0),
        (" 2.5 ", 2.5),
        ("-3", 0.0),
        ("", None),
        (None, None),
        ("soon", None),
        ("Sun, 22 Nov 2026 05:00:30 GMT", 30.0),
        ("Sun, 22 Nov 2026 04:59:00 GMT", 0.0),
    ],
)
def test_parse_retry_after(header: str | None, expected: float | None) -> None:
    now = datetime(2026, 11, 22, 5, 0, 0, tzinfo=UTC)
    assert parse_retry_after(header, now=lambda: now) == expected
