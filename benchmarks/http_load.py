"""A small HTTP load generator: several client processes with keep-alive connections, latencies recorded."""

from __future__ import annotations

import http.client
import json
import multiprocessing
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Request:
    path: str
    body: bytes
    headers: dict[str, str]


@dataclass(frozen=True)
class LoadResult:
    requests: int
    seconds: float
    latencies: list[float]
    statuses: dict[int, int]
    errors: int
    unnamed_refusals: int = 0  # 4xx answers (other than 401) whose JSON body names no "error"

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds

    def percentile(self, p: int) -> float:
        return statistics.quantiles(self.latencies, n=100)[p - 1] if len(self.latencies) > 1 else 0.0


def _names_the_problem(body: bytes) -> bool:
    try:
        return bool(json.loads(body).get("error"))
    except (ValueError, AttributeError):
        return False


def _client(args: tuple[int, Sequence[Request]]) -> tuple[list[float], dict[int, int], int, int]:
    port, requests = args
    unnamed = 0
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    errors = 0
    for request in requests:
        started = time.perf_counter()
        try:
            connection.request("POST", request.path, body=request.body, headers=request.headers)
            response = connection.getresponse()
            body = response.read()
            statuses[response.status] = statuses.get(response.status, 0) + 1
            if 400 <= response.status < 500 and response.status != 401 and not _names_the_problem(body):
                unnamed += 1
            if response.getheader("connection", "").lower() == "close":
                connection.close()
        except (OSError, http.client.HTTPException):
            errors += 1  # a reset connection: counted, and a fresh connection for the next request
            connection.close()
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        latencies.append(time.perf_counter() - started)
    connection.close()
    return latencies, statuses, errors, unnamed


def run_load(port: int, requests: Sequence[Request], clients: int) -> LoadResult:
    shares = [list(requests[index::clients]) for index in range(clients)]
    with multiprocessing.get_context("fork").Pool(clients) as pool:
        started = time.perf_counter()
        parts = pool.map(_client, [(port, share) for share in shares])
        seconds = time.perf_counter() - started
    latencies = [latency for part in parts for latency in part[0]]
    statuses: dict[int, int] = {}
    for part in parts:
        for status, count in part[1].items():
            statuses[status] = statuses.get(status, 0) + count
    errors = sum(part[2] for part in parts)
    return LoadResult(len(requests), seconds, latencies, statuses, errors, sum(part[3] for part in parts))


def wait_until_listening(port: int, healthy: Callable[[], bool] | None = None, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/healthz")
            connection.getresponse().read()
            connection.close()
            if healthy is None or healthy():
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"nothing listening on port {port} after {timeout} s")
