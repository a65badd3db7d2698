"""/metrics over real HTTP, from gunicorn's two workers and the RQ worker's work-horses sharing one directory; and
the container's health checks against the same running processes."""

from __future__ import annotations

import os
import subprocess
import sys

import requests
from prometheus_client.parser import text_string_to_metric_families
from rq.job import Job, JobStatus

from tests.fixtures.loader import dataverse_body
from tests.helpers import SECRET
from tests.test_processes import ROOT, stack, wait_for  # noqa: F401 - the fixture is reused


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


def test_webhooks_and_jobs_are_counted_across_processes_and_the_health_checks_see_them(
    stack,  # noqa: F811
    redis_conn,
    redis_url,
):
    url = stack["url"]
    accepted = requests.post(
        f"{url}/webhooks/dataverse",
        params={"code": SECRET},
        data=dataverse_body("invoice_create_with_post_image"),
        headers={"Content-Type": "application/json"},
        timeout=5,
    )
    assert accepted.status_code == 202
    for _ in range(3):
        assert (
            requests.post(f"{url}/webhooks/dataverse", params={"code": "wrong"}, data=b"{}", timeout=5).status_code
            == 401
        )
    assert requests.post(f"{url}/webhooks/xero", data=b"{}", timeout=5).status_code == 401
    job_id = accepted.json()["job_id"]
    wait_for(lambda: Job.fetch(job_id, connection=redis_conn).get_status() == JobStatus.FINISHED)

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
