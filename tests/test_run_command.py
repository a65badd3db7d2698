"""The run command's stack (what `make run` starts) and the demo story, end to end on embedded defaults."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import requests
from prometheus_client.parser import text_string_to_metric_families
from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from app.embedded_redis import free_port
from app.launcher import LocalStack
from sandbox.demo import tell_story
from sandbox.xero.admin_client import SandboxAdmin

NOT_CONFIGURED = (
    "REDIS_URL",
    "DATAVERSE_URL",
    "DATAVERSE_TOKEN",
    "DATAVERSE_WEBHOOK_SECRETS",
    "XERO_CLIENT_ID",
    "CONNECTOR_USER_ID",
    "BIND",
)


def test_the_stack_starts_on_embedded_defaults_and_the_demo_story_runs(tmp_path, capsys):
    environ = {k: v for k, v in os.environ.items() if k not in NOT_CONFIGURED}
    environ.update(PORT=str(free_port()), SANDBOX_DATAVERSE_PORT=str(free_port()), SANDBOX_XERO_PORT=str(free_port()))
    with LocalStack(environ=environ, log_dir=tmp_path) as stack:
        assert stack.sandbox_dataverse and stack.sandbox_xero
        assert requests.get(f"{stack.web_url}/readyz", timeout=5).json()["status"] == "ready"
        steps = requests.get(
            f"{stack.env['DATAVERSE_URL']}/api/data/v9.2/sdkmessageprocessingsteps",
            headers={"Authorization": f"Bearer {stack.env['DATAVERSE_TOKEN']}", "Accept": "application/json"},
            timeout=5,
        ).json()["value"]
        assert len(steps) >= 6, "the webhook steps were registered on the sandbox"
        assert stack.env["SANDBOX_CONNECTION_ID"]
        assert_console_is_ready_to_try(stack)

        tell_story(stack)
        story = capsys.readouterr().out
        assert "6 accepted as work" in story
        assert "job done by handlers.invoice_sync: done (create in Xero)" in story
        assert "In Xero:     invoice INV-" in story and "for Contoso Ltd, DRAFT" in story
        assert "Xero status DRAFT, export status Yes" in story
        assert "link https://go.xero.com/organisationlogin/default.aspx?shortcode=!SbxA1" in story
        assert "Sync History: Success - Invoice INV-" in story
        assert "Xero's signed webhook accepted" in story
        assert "Dynamics   invoice is Paid (Xero status PAID, amount due 0.00, paid 1056.00)" in story
        assert "Paid in Xero -> Paid in Dynamics in" in story
        redis_url = stack.env["REDIS_URL"]
        assert_xero_webhooks_reach_the_worker(stack)
        assert_metrics_and_logs_of_the_run(stack, tmp_path)

    try:
        Redis.from_url(redis_url, socket_connect_timeout=0.5).ping()
        stopped = False
    except RedisConnectionError:
        stopped = True
    assert stopped, "the private Redis stops with the stack"
    assert all(child.poll() is not None for _, child in stack.supervisor.children), "every child was stopped"


def assert_console_is_ready_to_try(stack: LocalStack) -> None:
    """A generated admin token opens the console, which lists the sandbox organisation with its imported accounts."""
    token = stack.env["ADMIN_TOKEN"]
    assert stack.admin_token_generated and any(
        f"{stack.web_url}/admin" in line and token in line for line in stack.summary
    )
    assert any("sandbox-person-token" in line for line in stack.summary), "the sandbox credentials are printed"
    page = requests.get(f"{stack.web_url}/admin", auth=("admin", token), timeout=10)
    assert page.status_code == 200 and "Sandbox Trading Ltd" in page.text and "Connected" in page.text
    assert requests.get(f"{stack.web_url}/admin", timeout=10).status_code == 401
    mapping = f"{stack.web_url}/admin/connections/{stack.env['SANDBOX_CONNECTION_ID']}/mapping"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if "200 Sales (Sales)" in requests.get(mapping, auth=("admin", token), timeout=10).text:
            return
        time.sleep(0.3)
    raise AssertionError("the sandbox organisation's reference data was not imported")


def assert_xero_webhooks_reach_the_worker(stack: LocalStack) -> None:
    """The sandbox Xero subscribed the connector at start: intent to receive passed against the real service."""
    admin = SandboxAdmin(stack.env["XERO_API_URL"])
    deadline = time.monotonic() + 20
    while admin.webhooks()["status"] != "ACTIVE" and time.monotonic() < deadline:
        time.sleep(0.2)
    assert admin.webhooks()["status"] == "ACTIVE", admin.webhooks()["intentLog"]


def assert_metrics_and_logs_of_the_run(stack: LocalStack, logs: Path) -> None:
    """The web's /metrics adds up every process of the run (the worker's jobs too); the worker's log says for
    each job what it was about and which webhook caused it; the sandboxes keep their access lines to themselves."""
    samples = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(requests.get(f"{stack.web_url}/metrics", timeout=5).text)
        for sample in family.samples
    }
    assert samples[("connector_webhooks_total", (("answer", "202"), ("source", "dataverse")))] >= 6
    assert samples[("connector_jobs_total", (("kind", "invoice.sync"), ("outcome", "done")))] >= 1
    assert samples[("connector_sync_results_total", (("kind", "xero.invoice"), ("result", "paid")))] >= 1

    lines = [json.loads(line) for line in (logs / "worker.log").read_text().splitlines() if line.startswith("{")]
    started = [line for line in lines if line["message"] == "job started"]
    assert started and all(line["correlation_id"] for line in started)
    assert any(line["kind"] == "xero.invoice" and line["connection_id"] for line in started)
    assert all(line["kind"] != "invoice.sync" or line["invoice_id"] for line in started)
    for sandbox in ("sandbox-dataverse.log", "sandbox-xero.log"):
        assert "HTTP/1.1" not in (logs / sandbox).read_text(), f"{sandbox} has access lines"
