"""A provisioned sandbox Dataverse with one connection row for sandbox Xero tenant A, its token stored, the
worker environment set, and a way to run the queued jobs with an in-process RQ worker."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests
from cryptography.fernet import Fernet
from redis import Redis
from rq import SimpleWorker
from rq.job import Job

from app import dispatch
from app import dynamics_schema as schema
from app.clients.xero_tokens import TokenSet, TokenStore, token_cipher
from app.queue import ALL_QUEUES, QUEUE_MAINTENANCE, JobQueue
from app.services import forget_services
from plugins_registration.auth import static_token
from plugins_registration.provision import provision
from plugins_registration.report import ChangeReport
from plugins_registration.webapi import WebApi
from sandbox.dataverse.seed import SANDBOX_CONNECTOR_TOKEN
from sandbox.xero.admin_client import SandboxAdmin
from sandbox.xero.seed import TENANT_A_ID
from sandbox.xero.tenant import Tenant
from tests.helpers import settings_env, settings_for

ODATA = {"Accept": "application/json", "OData-MaxVersion": "4.0", "OData-Version": "4.0"}
ANNOTATED = {"Prefer": 'odata.include-annotations="*"'}
REFERENCE_SETS = (
    schema.TAX_RATE_ENTITY_SET, schema.ACCOUNT_CODE_ENTITY_SET, schema.BRANDING_THEME_ENTITY_SET,
    schema.TRACKING_CATEGORY_ENTITY_SET, schema.TRACKING_OPTION_ENTITY_SET,
)


class Api:
    """The sandbox Web API as the connector's own user, for setting up and checking."""

    def __init__(self, api_url: str) -> None:
        self.api_url = api_url
        self.session = requests.Session()
        self.session.headers.update({**ODATA, "Authorization": f"Bearer {SANDBOX_CONNECTOR_TOKEN}"})

    def create(self, entity_set: str, body: dict[str, Any]) -> dict[str, Any]:
        response = self.session.post(self.api_url + entity_set, json=body,
                                     headers={"Prefer": "return=representation"}, timeout=10)
        assert response.status_code == 201, response.text
        return dict(response.json())

    def update(self, entity_set: str, row_id: str, body: dict[str, Any]) -> None:
        response = self.session.patch(f"{self.api_url}{entity_set}({row_id})", json=body,
                                      headers={"If-Match": "*"}, timeout=10)
        assert response.status_code == 204, response.text

    def rows(self, entity_set: str, **params: str) -> list[dict[str, Any]]:
        response = self.session.get(self.api_url + entity_set, params=params, headers=ANNOTATED, timeout=10)
        assert response.status_code == 200, response.text
        return list(response.json()["value"])

    def snapshot(self) -> dict[str, list[dict[str, Any]]]:
        """Every reference row, sorted by id: equal snapshots mean nothing was written in between."""
        return {name: sorted(self.rows(name), key=lambda row: str(row[name.removesuffix("s") + "id"]))
                for name in REFERENCE_SETS}


@dataclass
class Connected:
    api: Api
    jobs: JobQueue
    redis: Redis
    connection_id: str
    tokens: TokenStore
    xero: SandboxAdmin
    xero_sandbox: Any  # RunningSandbox

    def tenant(self, tenant_id: str = TENANT_A_ID) -> Tenant:
        return self.xero_sandbox.state.tenants[tenant_id]

    def work(self, max_jobs: int | None = None) -> list[Job]:
        """Run the queued jobs (including those they queue) with an in-process RQ worker, or only the first
        `max_jobs`; the jobs that finished or failed, oldest first."""
        before = self._done()
        worker = SimpleWorker([self.jobs.queue(name) for name in ALL_QUEUES], connection=self.redis)
        worker.work(burst=True, max_jobs=max_jobs)
        done = [job for job in Job.fetch_many(list(self._done() - before), connection=self.redis) if job]
        return sorted(done, key=lambda job: job.ended_at or job.created_at)

    def _done(self) -> set[str]:
        ids: set[str] = set()
        for name in ALL_QUEUES:
            queue = self.jobs.queue(name)
            ids |= set(queue.finished_job_registry.get_job_ids()) | set(queue.failed_job_registry.get_job_ids())
        return ids

    def queued(self, kind: str) -> list[Job]:
        queue = self.jobs.queue(QUEUE_MAINTENANCE)
        return [job for job in Job.fetch_many(queue.job_ids, connection=self.redis) if job and
                job.meta.get("kind") == kind]

    def new_connection(self, name: str, tenant_id: str | None, *, token: bool) -> str:
        body: dict[str, Any] = {schema.CONNECTION_NAME: name}
        if tenant_id:
            body[schema.CONNECTION_XERO_TENANT_ID] = tenant_id
        connection_id = str(self.api.create(schema.CONNECTION_ENTITY_SET, body)[schema.CONNECTION_ID])
        if token and tenant_id:
            self.tokens.save(connection_id, TokenSet.from_oauth_response(self.xero.mint_token([tenant_id])))
        return connection_id


@pytest.fixture
def connected(dataverse_sandbox, xero_sandbox, redis_url, monkeypatch) -> Iterator[Connected]:
    provision(WebApi(dataverse_sandbox.url.rstrip("/"), static_token(SANDBOX_CONNECTOR_TOKEN)),
              ChangeReport(out=lambda _: None))
    api = Api(dataverse_sandbox.api_url)
    keys = Fernet.generate_key().decode()
    sandbox_settings = xero_sandbox.settings
    env = {
        **settings_env(redis_url), "DATAVERSE_URL": dataverse_sandbox.url.rstrip("/"),
        "DATAVERSE_TOKEN": SANDBOX_CONNECTOR_TOKEN, "DATAVERSE_RETRY_BUDGET_SECONDS": "2",
        "XERO_CLIENT_ID": sandbox_settings.client_id, "XERO_CLIENT_SECRET": sandbox_settings.client_secret,
        "TOKEN_ENCRYPTION_KEYS": keys, "XERO_API_URL": xero_sandbox.url.rstrip("/"),
        "XERO_IDENTITY_URL": xero_sandbox.url.rstrip("/"), "XERO_LOGIN_URL": xero_sandbox.url.rstrip("/"),
        "XERO_REQUEST_TIMEOUT_SECONDS": "10",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setattr(dispatch, "_environment", None)
    forget_services()
    redis = Redis.from_url(redis_url)
    admin = SandboxAdmin(xero_sandbox.url, sandbox_settings.admin_token)
    connected = Connected(api=api, jobs=JobQueue(redis, settings_for(redis_url)), redis=redis, connection_id="",
                          tokens=TokenStore(redis, token_cipher([keys])), xero=admin, xero_sandbox=xero_sandbox)
    connected.connection_id = connected.new_connection("Sandbox Trading Ltd", TENANT_A_ID, token=True)
    try:
        yield connected
    finally:
        admin.close()
        redis.close()
        api.session.close()
        forget_services()
