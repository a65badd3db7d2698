"""Hostile input over real HTTP: 10,000 mutated Dataverse bodies and 10,000 Xero bodies (three in four signed)
against gunicorn serving the connector. Expected: 0 answers >= 500, 0 reset connections, 0 gunicorn worker
restarts, 0 jobs from invalid input, and every refusal a 4xx naming the problem (401 for a bad signature).

`python -m benchmarks.hostile [--bodies N] [--seed S]`
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from redis import Redis

from app.embedded_redis import EmbeddedRedis, free_port
from app.queue import ALL_QUEUES, fetch_jobs, job_queue
from app.xero_tenants import register_tenant
from benchmarks.http_load import LoadResult, Request, run_load, wait_until_listening
from tests.hostile_bodies import XERO_TENANT, dataverse_bodies, invalid_job_payloads, xero_bodies, xero_signature

ROOT = Path(__file__).resolve().parent.parent
SECRET = "hostile-bench-secret"  # noqa: S105 - a throwaway key for a private, local server
XERO_KEY = "hostile-bench-xero-key"
WORKERS = 2


def _requests(count: int, seed: int) -> tuple[list[Request], list[Request]]:
    json_headers = {"Content-Type": "application/json"}
    dataverse = [
        Request(f"/webhooks/dataverse?code={SECRET}", h.body, json_headers) for h in dataverse_bodies(count, seed)
    ]
    xero = []
    for index, hostile in enumerate(xero_bodies(count, seed + 1)):
        headers = dict(json_headers)
        if index % 4:
            headers["x-xero-signature"] = xero_signature(hostile.body, XERO_KEY)
        xero.append(Request("/webhooks/xero", hostile.body, headers))
    return dataverse, xero


def _describe(label: str, result: LoadResult) -> str:
    server_errors = sum(count for status, count in result.statuses.items() if status >= 500)
    return (
        f"{label}: {result.requests} bodies in {result.seconds:.1f} s; answers >= 500: {server_errors}; "
        f"reset connections: {result.errors}; refusals not naming the problem: {result.unnamed_refusals}; "
        f"statuses {dict(sorted(result.statuses.items()))}; p99 {result.percentile(99) * 1000:.0f} ms"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.hostile", description=__doc__)
    parser.add_argument("--bodies", type=int, default=10_000, help="bodies per webhook (default 10,000)")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--clients", type=int, default=4)
    args = parser.parse_args(argv)
    dataverse, xero = _requests(args.bodies, args.seed)
    port = free_port()
    with EmbeddedRedis() as redis_server, tempfile.TemporaryDirectory() as scratch:
        redis = Redis.from_url(redis_server.url)
        register_tenant(redis, XERO_TENANT, "connection-row-1")
        log_path = Path(scratch) / "gunicorn.log"
        env = {
            **os.environ,
            "BIND": f"127.0.0.1:{port}",
            "REDIS_URL": redis_server.url,
            "DATAVERSE_WEBHOOK_SECRETS": SECRET,
            "XERO_WEBHOOK_KEY": XERO_KEY,
            "WEB_CONCURRENCY": str(WORKERS),
            "LOG_LEVEL": "WARNING",
        }
        with log_path.open("wb") as log:
            server = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"],
                cwd=ROOT,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=log,
            )
            try:
                wait_until_listening(port)
                dataverse_result = run_load(port, dataverse, args.clients)
                xero_result = run_load(port, xero, args.clients)
            finally:
                server.terminate()
                server.wait(30)
        boots = len(re.findall(r"Booting worker with pid", log_path.read_text(errors="replace")))
        payloads = [
            job.args[1]
            for name in ALL_QUEUES
            for job in fetch_jobs(job_queue(name, redis).job_ids, redis)
            if isinstance(job.args[1], dict)
        ]
    print(_describe("Dataverse", dataverse_result))
    print(_describe("Xero (3 in 4 signed)", xero_result))
    print(
        f"gunicorn worker restarts: {max(boots - WORKERS, 0)}; jobs queued: {len(payloads)}, "
        f"of which from invalid input: {len(invalid_job_payloads(payloads))}"
    )


if __name__ == "__main__":
    main()
