"""The admin console served for real: the Flask app on a loopback port, both sandboxes, webhook steps registered
against the app, and the worker's environment, so a browser can connect an organisation and invoices really sync.
Jobs run in-process when a test drains the queues (no worker process, no scheduler)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from werkzeug.serving import make_server

from app import create_app
from app.embedded_redis import free_port
from app.queue import JobQueue
from plugins_registration.register import register
from plugins_registration.steps import AuthType, EndpointSpec
from sandbox.dataverse.seed import SANDBOX_CONNECTOR_TOKEN, SANDBOX_PERSON_TOKEN
from tests.e2e.harness import Harness
from tests.helpers import SECRET, settings_for
from tests.stack_helpers import DataverseApi, Stack, connector_web_api, quiet_report, worker_stack

ADMIN_TOKEN = "console-admin-secret"
RETRY_MAX_ATTEMPTS = 2


@dataclass
class Console:
    url: str
    stack: Stack
    jobs: JobQueue
    dataverse: object  # RunningDataverse

    def harness(self, connection_id: str) -> Harness:
        """The end-to-end helpers (invoices as a person makes them, draining the queues) for a connection."""
        api_url = self.dataverse.api_url  # type: ignore[attr-defined]
        return Harness(
            dataverse=self.dataverse,
            xero=self.stack.xero,
            redis=self.stack.redis,
            jobs=self.jobs,
            connection_id=connection_id,
            person=DataverseApi(api_url, SANDBOX_PERSON_TOKEN),
            connector=DataverseApi(api_url, SANDBOX_CONNECTOR_TOKEN),
            token_store=self.stack.tokens,
        )


@pytest.fixture
def console(dataverse_sandbox, xero_sandbox, redis_url, monkeypatch) -> Iterator[Console]:
    with worker_stack(
        dataverse_sandbox, xero_sandbox, redis_url, monkeypatch, RETRY_MAX_ATTEMPTS=str(RETRY_MAX_ATTEMPTS)
    ) as stack:
        settings = settings_for(redis_url, admin_token=ADMIN_TOKEN, retry_max_attempts=RETRY_MAX_ATTEMPTS)
        port = free_port()
        web = make_server("127.0.0.1", port, create_app(settings), threaded=True)
        threading.Thread(target=web.serve_forever, daemon=True).start()
        register(
            connector_web_api(dataverse_sandbox),
            EndpointSpec(f"http://127.0.0.1:{port}/webhooks/dataverse", AuthType.WEBHOOK_KEY),
            lambda: SECRET,
            quiet_report(),
        )
        try:
            yield Console(f"http://127.0.0.1:{port}", stack, JobQueue(stack.redis, settings), dataverse_sandbox)
        finally:
            dataverse_sandbox.wait_for_webhooks(10)
            threading.Thread(target=web.shutdown, daemon=True).start()
