"""A provisioned sandbox Dataverse with one connection row for sandbox Xero tenant A, its token stored, the
worker environment set, and a way to run the queued jobs with an in-process RQ worker."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from redis import Redis
from rq import SimpleWorker
from rq.job import Job

from app import dynamics_schema as schema
from app.clients.xero_tokens import TokenStore
from app.job_serializer import JobSerializer
from app.queue import ALL_QUEUES, QUEUE_MAINTENANCE, JobQueue
from sandbox.xero.admin_client import SandboxAdmin
from sandbox.xero.seed import TENANT_A_ID
from sandbox.xero.tenant import Tenant
from tests.helpers import settings_for
from tests.stack_helpers import DataverseApi, done_job_ids, store_token, worker_stack

REFERENCE_SETS = (
    schema.TAX_RATE_ENTITY_SET,
    schema.ACCOUNT_CODE_ENTITY_SET,
    schema.BRANDING_THEME_ENTITY_SET,
    schema.TRACKING_CATEGORY_ENTITY_SET,
    schema.TRACKING_OPTION_ENTITY_SET,
    schema.CURRENCY_ENTITY_SET,
)


class Api(DataverseApi):
    """The sandbox Web API as the connector's own user, for setting up and checking."""

    def snapshot(self) -> dict[str, list[dict[str, Any]]]:
        """Every reference row, sorted by id: equal snapshots mean nothing was written in between."""
        return {
            name: sorted(self.rows(name), key=lambda row: str(row[name.removesuffix("s") + "id"]))
            for name in REFERENCE_SETS
        }


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
        before = done_job_ids(self.jobs)
        worker = SimpleWorker(
            [self.jobs.queue(name) for name in ALL_QUEUES], connection=self.redis, serializer=JobSerializer
        )
        worker.work(burst=True, max_jobs=max_jobs)
        done = [
            job
            for job in Job.fetch_many(
                list(done_job_ids(self.jobs) - before), connection=self.redis, serializer=JobSerializer
            )
            if job
        ]
        return sorted(done, key=lambda job: job.ended_at or job.created_at)

    def queued(self, kind: str) -> list[Job]:
        queue = self.jobs.queue(QUEUE_MAINTENANCE)
        return [
            job
            for job in Job.fetch_many(queue.job_ids, connection=self.redis, serializer=JobSerializer)
            if job and job.meta.get("kind") == kind
        ]

    def new_connection(self, name: str, tenant_id: str | None, *, token: bool) -> str:
        body: dict[str, Any] = {schema.CONNECTION_NAME: name}
        if tenant_id:
            body[schema.CONNECTION_XERO_TENANT_ID] = tenant_id
        connection_id = str(self.api.create(schema.CONNECTION_ENTITY_SET, body)[schema.CONNECTION_ID])
        if token and tenant_id:
            store_token(self.tokens, self.xero, connection_id, tenant_id)
        return connection_id


@pytest.fixture
def connected(dataverse_sandbox, xero_sandbox, redis_url, monkeypatch) -> Iterator[Connected]:
    with worker_stack(dataverse_sandbox, xero_sandbox, redis_url, monkeypatch) as stack:
        api = Api(dataverse_sandbox.api_url)
        connected = Connected(
            api=api,
            jobs=JobQueue(stack.redis, settings_for(redis_url)),
            redis=stack.redis,
            connection_id="",
            tokens=stack.tokens,
            xero=stack.xero,
            xero_sandbox=xero_sandbox,
        )
        connected.connection_id = connected.new_connection("Sandbox Trading Ltd", TENANT_A_ID, token=True)
        try:
            yield connected
        finally:
            api.session.close()
