"""The product as it runs: gunicorn serving wsgi:app and an RQ worker, as real processes, over real HTTP."""

from __future__ import annotations

import contextlib
import http.client
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from rq.job import Job, JobStatus

from app.embedded_redis import free_port
from app.job_serializer import JobSerializer
from tests.fixtures.loader import dataverse_body
from tests.helpers import SECRET, settings_env
from tests.metrics_helpers import assert_counted_across_processes_and_healthy

ROOT = Path(__file__).resolve().parent.parent


def wait_for(predicate, timeout: float = 40.0, interval: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError("condition not met in time")


@pytest.fixture
def stack(redis_url, tmp_path) -> Iterator[dict]:
    port = free_port()
    env = {
        **os.environ,
        **settings_env(redis_url),
        "BIND": f"127.0.0.1:{port}",
        # Two gunicorn workers and the RQ worker's work-horses share their metrics through this directory.
        "WEB_CONCURRENCY": "2",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
        "MAX_WEBHOOK_BYTES": str(64 * 1024),
    }
    (tmp_path / "metrics").mkdir()
    logs = {name: (tmp_path / f"{name}.log").open("wb") for name in ("web", "worker")}
    web = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"],
        cwd=ROOT,
        env=env,
        stdout=logs["web"],
        stderr=subprocess.STDOUT,
    )
    worker = subprocess.Popen(
        [sys.executable, "-m", "app.worker"],
        cwd=ROOT,
        env=env,
        stdout=logs["worker"],
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"

    def healthy():
        try:
            return requests.get(f"{url}/healthz", timeout=2).status_code == 200
        except requests.RequestException:  # not listening yet, or too busy booting to answer in time
            return False

    try:
        wait_for(healthy)
        yield {"url": url, "port": port, "logs": tmp_path}
    finally:
        # The worker's children (its scheduler, a work-horse) must not outlive the test: stopped before its
        # start-up finished, a worker dies without stopping them, and they would act on the next test's Redis.
        for process in (web, worker):
            process.terminate()
        for process in (web, worker):
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(worker.pid, signal.SIGKILL)  # the worker's session: its scheduler, whatever it left
        for handle in logs.values():
            handle.close()


def test_an_invoice_event_posted_over_http_is_handled_by_the_worker(stack, redis_conn, redis_url):
    response = requests.post(
        f"{stack['url']}/webhooks/dataverse",
        params={"code": SECRET},
        data=dataverse_body("invoice_create_with_post_image"),
        headers={"Content-Type": "application/json", "x-ms-correlation-request-id": "e2e-1"},
        timeout=5,
    )
    assert response.status_code == 202, response.text
    job_id = response.json()["job_id"]
    job = wait_for(
        lambda: (
            (j := Job.fetch(job_id, connection=redis_conn, serializer=JobSerializer)).get_status() == JobStatus.FINISHED
            and j
        )
    )
    result = job.return_value()
    assert result["outcome"] == "done"
    assert result["handler"] == "handlers.invoice_sync"
    assert result["invoice_id"] == "7d1f2a5c-8b3e-ef11-8409-000d3a4b7a1c"

    ready = requests.get(f"{stack['url']}/readyz", timeout=5)
    assert ready.status_code == 200
    assert ready.json()["queues"] == {"dataverse": 0, "xero": 0, "maintenance": 0}

    web_log = (stack["logs"] / "web.log").read_text()
    worker_log = (stack["logs"] / "worker.log").read_text()
    assert '"path": "/webhooks/dataverse"' in web_log, "the access log names the path"
    assert SECRET not in web_log and SECRET not in worker_log
    assert '"correlation_id": "e2e-1"' in worker_log, "the correlation id travels into the job's logs"
    assert_counted_across_processes_and_healthy(stack, redis_url)


def test_a_chunked_body_over_the_limit_gets_413(stack):
    connection = http.client.HTTPConnection("127.0.0.1", stack["port"], timeout=10)
    connection.putrequest("POST", f"/webhooks/dataverse?code={SECRET}")
    connection.putheader("Content-Type", "application/json")
    connection.putheader("Transfer-Encoding", "chunked")
    connection.endheaders()
    chunk = b"{" + b" " * 8190 + b"}"
    try:
        for _ in range(20):
            connection.send(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
        connection.send(b"0\r\n\r\n")
    except (BrokenPipeError, ConnectionResetError):
        pass  # the server may answer and close before the whole body is sent
    response = connection.getresponse()
    assert response.status == 413
    connection.close()
