"""/metrics over real HTTP, from gunicorn's two workers and the RQ worker's work-horses sharing one directory; and
the container's health checks against the same running processes. Called from the process test, which has
the stack running (starting another one would cost the suite seconds for nothing)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import requests
from prometheus_client.parser import text_string_to_metric_families

ROOT = Path(__file__).resolve().parent.parent


def scrape(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    answer = requests.get(f"{url}/metrics", timeout=5)
    assert answer.status_code == 200
    assert answer.headers["Content-Type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(answer.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def healthcheck(role: str, **env: str) -> int:
    command = [sys.executable, "-m", "app.healthcheck", role]
    environ = {**os.environ, **env}
    return subprocess.run(command, cwd=ROOT, env=environ, capture_output=True, timeout=60, check=False).returncode


def assert_counted_across_processes_and_healthy(stack: dict, redis_url: str) -> None:
    """After one accepted Dataverse webhook whose invoice.sync job finished."""
    url = stack["url"]
    for _ in range(3):
        wrong = requests.post(f"{url}/webhooks/dataverse", params={"code": "wrong"}, data=b"{}", timeout=5)
        assert wrong.status_code == 401
    assert requests.post(f"{url}/webhooks/xero", data=b"{}", timeout=5).status_code == 401

    # Scrapes may land on either gunicorn worker: each sees every process's counts.
    for _ in range(4):
        samples = scrape(url)
        assert value(samples, "connector_webhooks_total", source="dataverse", answer="202") == 1
        assert value(samples, "connector_webhooks_total", source="dataverse", answer="401") == 3
        assert value(samples, "connector_webhooks_total", source="xero", answer="401") == 1
        assert value(samples, "connector_jobs_total", kind="invoice.sync", outcome="done") == 1
        assert value(samples, "connector_job_duration_seconds_count", kind="invoice.sync") == 1

    # The job ran in a work-horse, which wrote under its worker's name: one set of files however many jobs run.
    counters = sorted(path.name for path in (stack["logs"] / "metrics").glob("counter_*.db"))
    assert any(name.endswith("-horse.db") for name in counters), counters
    assert len(counters) <= 3, "two gunicorn workers and one work-horse name"

    # The container's health checks, against these same processes.
    assert healthcheck("web", BIND=f"0.0.0.0:{stack['port']}") == 0
    assert healthcheck("worker", REDIS_URL=redis_url) == 0, "the stack's worker runs on this host"
    assert healthcheck("web", BIND="127.0.0.1:1") == 1
    assert healthcheck("worker", REDIS_URL="redis://127.0.0.1:1/0") == 1
