"""Intake over real HTTP: gunicorn serving the connector vs the same gunicorn serving a bare view that does one
Redis push (the floor), in one run, against one private Redis. Goal: >= 80 % of the floor, p99 <= 20 ms.

`python -m benchmarks.intake_http [--events N] [--clients C]`
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

from app.embedded_redis import EmbeddedRedis, free_port
from benchmarks.http_load import LoadResult, Request, run_load, wait_until_listening
from benchmarks.intake import SECRET, _bodies

ROOT = Path(__file__).resolve().parent.parent
CONNECTOR_USER = "5c0e0a5e-0000-4000-8000-00000000c0de"


def _serve(app: str, redis_url: str, requests: list[Request], warm_up: list[Request], clients: int) -> LoadResult:
    port = free_port()
    env = {
        **os.environ,
        "BIND": f"127.0.0.1:{port}",
        "REDIS_URL": redis_url,
        "DATAVERSE_WEBHOOK_SECRETS": SECRET,
        "CONNECTOR_USER_ID": CONNECTOR_USER,
        "WEB_CONCURRENCY": os.environ.get("WEB_CONCURRENCY", "2"),
        "WEB_THREADS": os.environ.get("WEB_THREADS", "4"),
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", app],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until_listening(port)
        run_load(port, warm_up, clients)
        return run_load(port, requests, clients)
    finally:
        server.terminate()
        server.wait(30)


def _requests(count: int, invoices: int) -> list[Request]:
    headers = {"Content-Type": "application/json"}
    return [Request(f"/webhooks/dataverse?code={SECRET}", body, headers) for body in _bodies(count, invoices)]


def _describe(label: str, result: LoadResult) -> str:
    return (
        f"{label}: {result.per_second:,.0f} requests/s; p50 {result.percentile(50) * 1000:.1f} ms, "
        f"p99 {result.percentile(99) * 1000:.1f} ms; statuses {dict(sorted(result.statuses.items()))}"
        + (f"; {result.errors} connection errors" if result.errors else "")
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.intake_http", description=__doc__)
    parser.add_argument("--events", type=int, default=4000)
    parser.add_argument("--clients", type=int, default=8)
    args = parser.parse_args(argv)
    requests = _requests(args.events, invoices=args.events // 2)  # every invoice gets two events
    warm_up = _requests(400, invoices=400)
    with EmbeddedRedis() as redis_server:
        floor = _serve("benchmarks.bare_intake:app", redis_server.url, requests, warm_up, args.clients)
        intake = _serve("wsgi:app", redis_server.url, requests, warm_up, args.clients)
    ratio = intake.per_second / floor.per_second
    print(_describe("floor (bare view, one Redis push)", floor))
    print(_describe("intake (authenticate, parse, route, one script)", intake))
    print(
        f"intake over HTTP = {ratio:.0%} of the floor (goal >= 80 %); "
        f"p99 {intake.percentile(99) * 1000:.1f} ms (goal <= 20 ms); "
        f"{args.events} events for {args.events // 2} invoices, {args.clients} clients"
    )


if __name__ == "__main__":
    main()
