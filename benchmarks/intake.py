"""Webhook intake: how fast /webhooks/dataverse authenticates, parses, coalesces and enqueues, and at what memory.

Runs the Flask app in-process against a private Redis, so the figures are the intake's own cost (no network
hops to a remote Redis). Prints events per second, latency percentiles and peak Python memory.
"""

from __future__ import annotations

import json
import statistics
import time
import tracemalloc
import uuid
from pathlib import Path

from app import create_app
from app.config import Settings
from app.embedded_redis import EmbeddedRedis

FIXTURES = Path(__file__).parent.parent / "tests" / "fixtures" / "dataverse"
FIXTURE = FIXTURES / "invoice_update_with_pre_and_post_images.json"
SECRET = "bench-secret"  # noqa: S105 - a throwaway key for a private, local server


def _bodies(count: int, invoices: int) -> list[bytes]:
    template = json.loads(FIXTURE.read_bytes())
    invoice_ids = [str(uuid.uuid4()) for _ in range(invoices)]
    bodies = []
    for index in range(count):
        template["OperationId"] = str(uuid.uuid4())
        template["PrimaryEntityId"] = invoice_ids[index % invoices]
        bodies.append(json.dumps(template).encode())
    return bodies


def _run(label: str, count: int, invoices: int) -> None:
    with EmbeddedRedis() as redis_server:
        app = create_app(Settings(redis_url=redis_server.url, dataverse_webhook_secrets=(SECRET,), log_level="WARNING"))
        client = app.test_client()
        bodies = _bodies(count, invoices)
        latencies = []
        started = time.perf_counter()
        for body in bodies:
            t0 = time.perf_counter()
            response = client.post(f"/webhooks/dataverse?code={SECRET}", data=body)
            latencies.append(time.perf_counter() - t0)
            if response.status_code not in (200, 202):
                raise SystemExit(f"unexpected {response.status_code}: {response.get_data(as_text=True)}")
        elapsed = time.perf_counter() - started
        depth = app.extensions["connector.jobs"].depths()["dataverse"]
        # Memory in a second pass: tracing slows every allocation, so it must not colour the timings.
        tracemalloc.start()
        for body in _bodies(200, invoices):
            client.post(f"/webhooks/dataverse?code={SECRET}", data=body)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    quantiles = statistics.quantiles(latencies, n=100)
    print(
        f"{label}: {count} events for {invoices} invoices in {elapsed:.2f} s = {count / elapsed:,.0f} events/s; "
        f"latency p50 {quantiles[49] * 1000:.2f} ms, p95 {quantiles[94] * 1000:.2f} ms, "
        f"p99 {quantiles[98] * 1000:.2f} ms; jobs queued {depth}; "
        f"peak Python memory over 200 more events {peak / 1024 / 1024:.1f} MiB"
    )


def main() -> None:
    _run("intake, every event a new invoice", count=2000, invoices=2000)
    _run("intake, 20 events per invoice (coalescing)", count=2000, invoices=100)


if __name__ == "__main__":
    main()
