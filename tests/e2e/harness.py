"""A connected connector for end-to-end tests: sandbox Dataverse and Xero over HTTP, the real intake, RQ.

`Harness` holds a provisioned sandbox Dataverse whose webhook steps call the connector's intake (served on a
loopback port), a connection row for sandbox Xero tenant A with its token set in the encrypted TokenStore,
and the worker environment. `drain()` delivers every pending webhook and runs the queued jobs with an
in-process RQ SimpleWorker until nothing is left; `run_due_now()` moves scheduled jobs (retries, deferrals)
to the queue as if their time had come.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pytest
import requests
from redis import Redis
from rq import SimpleWorker
from rq.job import Job
from werkzeug.serving import make_server

from app import create_app
from app import dynamics_schema as schema
from app.clients.xero_tokens import TokenStore
from app.dynamics_schema import InvoiceType
from app.embedded_redis import free_port
from app.job_serializer import JobSerializer
from app.queue import ALL_QUEUES, QUEUE_DATAVERSE, JobQueue
from plugins_registration.register import register
from plugins_registration.steps import AuthType, EndpointSpec
from sandbox.dataverse.seed import (
    ACCOUNT_IDS,
    PRICE_LIST_ID,
    PRODUCT_IDS,
    SANDBOX_CONNECTOR_TOKEN,
    SANDBOX_PERSON_TOKEN,
    UNIT_ID,
)
from sandbox.xero.admin_client import SandboxAdmin
from sandbox.xero.seed import TENANT_A_ID
from tests.helpers import SECRET, settings_for
from tests.stack_helpers import DataverseApi, connector_web_api, done_job_ids, quiet_report, store_token, worker_stack


@dataclass
class Harness:
    dataverse: Any  # RunningDataverse
    xero: SandboxAdmin
    redis: Redis
    jobs: JobQueue
    connection_id: str
    person: DataverseApi
    connector: DataverseApi
    token_store: TokenStore
    web_url: str = ""  # the connector's intake (and /metrics), served on a loopback port
    finished: list[Job] = field(default_factory=list)

    # -- Dynamics, as a person would use it -------------------------------------------------------------------
    def new_invoice(
        self,
        *,
        name: str = "Consulting for Contoso",
        account: str = ACCOUNT_IDS[0],
        delivered: date | None = None,
        due: date | None = None,
        invoice_type: InvoiceType = InvoiceType.SALES_INVOICE,
        lines: int = 2,
        ready: bool = True,
    ) -> str:
        """An invoice with `lines` lines (Widget x4, then a write-in); `ready` sets the connection last."""
        body: dict[str, Any] = {
            "name": name,
            "customerid_account@odata.bind": f"/accounts({account})",
            "pricelevelid@odata.bind": f"/pricelevels({PRICE_LIST_ID})",
            "datedelivered": (delivered or date.today()).isoformat(),
            schema.INVOICE_INVOICE_TYPE: int(invoice_type),
        }
        if due:
            body["duedate"] = due.isoformat()
        invoice_id = str(self.person.create("invoices", body)["invoiceid"])
        bind = {"invoiceid@odata.bind": f"/invoices({invoice_id})"}
        if lines >= 1:
            self.new_line(invoice_id)
        if lines >= 2:
            self.person.create(
                "invoicedetails",
                {
                    **bind,
                    "isproductoverridden": True,
                    "productdescription": "Travel",
                    "quantity": 1,
                    "priceperunit": 120,
                },
            )
        if ready:
            self.set_connection(invoice_id)
        return invoice_id

    def new_line(self, invoice_id: str, quantity: int = 4) -> None:
        """A line for the Widget product (WIDGET-001, 12.50)."""
        self.person.create(
            "invoicedetails",
            {
                "invoiceid@odata.bind": f"/invoices({invoice_id})",
                "productid@odata.bind": f"/products({PRODUCT_IDS[0]})",
                "uomid@odata.bind": f"/uoms({UNIT_ID})",
                "quantity": quantity,
            },
        )

    def set_connection(self, invoice_id: str) -> None:
        self.person.update(
            "invoices", invoice_id, schema.bind(schema.lookup("invoice", schema.INVOICE_CONNECTION), self.connection_id)
        )

    def set_connection_settings(self, **columns: Any) -> None:
        """An admin changing the connection row (its webhook drops the workers' copy of the row)."""
        self.person.update(schema.CONNECTION_ENTITY_SET, self.connection_id, columns)

    def import_reference_data(self) -> None:
        """The connection's Xero reference data into Dynamics now (as the connect flow's import would)."""
        from app.reference_data import main

        assert main(["import", "--connection", self.connection_id, "--now"]) == 0

    def reference_row(self, entity_set: str, column: str, value: str) -> dict[str, Any]:
        [row] = [row for row in self.connector.rows(entity_set) if row.get(column) == value]
        return row

    def invoice_row(self, invoice_id: str) -> dict[str, Any]:
        return self.connector.get("invoices", invoice_id)

    def history(self, invoice_id: str | None = None) -> list[dict[str, Any]]:
        params = {"$orderby": f"{schema.SYNC_HISTORY_OCCURRED_ON} asc,createdon asc"}
        if invoice_id:
            params["$filter"] = f"_{schema.SYNC_HISTORY_INVOICE}_value eq {invoice_id}"
        return self.connector.rows(schema.SYNC_HISTORY_ENTITY_SET, **params)

    # -- Xero --------------------------------------------------------------------------------------------------
    def xero_state(self) -> dict[str, Any]:
        return self.xero.state(TENANT_A_ID)

    def xero_invoices(self, number: str | None = None) -> list[dict[str, Any]]:
        invoices = self.xero_state()["Invoices"]
        return [i for i in invoices if number is None or i.get("InvoiceNumber") == number]

    # -- the connector -----------------------------------------------------------------------------------------
    def drain(self, rounds: int = 10) -> list[Job]:
        """Deliver pending webhooks and run every queued job, until both are quiet; returns the jobs run."""
        ran: list[Job] = []
        for _ in range(rounds):
            assert self.dataverse.wait_for_webhooks(30)
            queued = sum(self.jobs.queue(name).count for name in ALL_QUEUES)
            if not queued:
                break
            before = done_job_ids(self.jobs)
            worker = SimpleWorker(
                [self.jobs.queue(name) for name in ALL_QUEUES], connection=self.redis, serializer=JobSerializer
            )
            worker.work(burst=True)
            ran += [
                Job.fetch(job_id, connection=self.redis, serializer=JobSerializer)
                for job_id in done_job_ids(self.jobs) - before
            ]
        self.finished += ran
        return ran

    def scheduled(self) -> list[Job]:
        registry = self.jobs.queue(QUEUE_DATAVERSE).scheduled_job_registry
        return [
            job
            for job in Job.fetch_many(registry.get_job_ids(), connection=self.redis, serializer=JobSerializer)
            if job
        ]

    def run_due_now(self) -> list[Job]:
        """Scheduled jobs (retries, deferrals) run now, as if their time had come."""
        queue = self.jobs.queue(QUEUE_DATAVERSE)
        for job in self.scheduled():
            if queue.scheduled_job_registry.remove(job.id):
                queue.enqueue_job(job)
        return self.drain()

    def results(self, kind: str = "invoice.sync") -> list[dict[str, Any]]:
        return [job.return_value() or {} for job in self.finished if job.meta.get("kind") == kind]

    def failed(self) -> list[Job]:
        registry = self.jobs.queue(QUEUE_DATAVERSE).failed_job_registry
        return [
            job
            for job in Job.fetch_many(registry.get_job_ids(), connection=self.redis, serializer=JobSerializer)
            if job
        ]


@pytest.fixture
def harness(dataverse_sandbox, xero_sandbox, redis_url, monkeypatch) -> Iterator[Harness]:
    with worker_stack(dataverse_sandbox, xero_sandbox, redis_url, monkeypatch, RETRY_MAX_ATTEMPTS="4") as stack:
        api_url = dataverse_sandbox.api_url
        connector = DataverseApi(api_url, SANDBOX_CONNECTOR_TOKEN)
        connection_id = str(
            connector.create(
                schema.CONNECTION_ENTITY_SET,
                {
                    schema.CONNECTION_NAME: "Sandbox Trading Ltd",
                    schema.CONNECTION_XERO_TENANT_ID: TENANT_A_ID,
                    schema.CONNECTION_XERO_TENANT_NAME: "Sandbox Trading Ltd",
                    schema.CONNECTION_XERO_SHORT_CODE: "!SbxA1",
                    schema.CONNECTION_IS_DEFAULT: True,
                    schema.CONNECTION_TIME_ZONE: "Europe/London",
                    schema.CONNECTION_DEFAULT_SALES_ACCOUNT_CODE: "200",
                    schema.CONNECTION_DEFAULT_PURCHASE_ACCOUNT_CODE: "300",
                    schema.CONNECTION_CREATE_CREDIT_NOTE: True,
                    schema.CONNECTION_CREATE_CONTACTS: True,
                    schema.CONNECTION_STATUS: int(schema.ConnectionStatus.CONNECTED),
                },
            )[schema.CONNECTION_ID]
        )
        store_token(stack.tokens, stack.xero, connection_id, TENANT_A_ID)

        port = free_port()
        web = make_server("127.0.0.1", port, create_app(settings_for(redis_url)), threaded=True)
        thread = threading.Thread(target=web.serve_forever, daemon=True)
        thread.start()
        register(
            connector_web_api(dataverse_sandbox),
            EndpointSpec(f"http://127.0.0.1:{port}/webhooks/dataverse", AuthType.WEBHOOK_KEY),
            lambda: SECRET,
            quiet_report(),
        )
        try:
            yield Harness(
                dataverse=dataverse_sandbox,
                xero=stack.xero,
                redis=stack.redis,
                jobs=JobQueue(stack.redis, settings_for(redis_url, retry_max_attempts=4)),
                connection_id=connection_id,
                person=DataverseApi(api_url, SANDBOX_PERSON_TOKEN),
                connector=connector,
                token_store=stack.tokens,
                web_url=f"http://127.0.0.1:{port}",
            )
        finally:
            dataverse_sandbox.wait_for_webhooks(10)
            # serve_forever notices a shutdown only at its next half-second poll: let that happen in the background.
            threading.Thread(target=web.shutdown, daemon=True).start()


def xero_call(harness: Harness, method: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    """A direct Accounting API call as a Xero user would make it (e.g. recording a payment)."""
    scopes = ["accounting.invoices", "accounting.payments", "accounting.contacts", "accounting.settings"]
    token = harness.xero.mint_token([TENANT_A_ID], scopes)["access_token"]
    response = requests.request(
        method,
        f"{harness.xero.base_url}/api.xro/2.0/{path}",
        json=body,
        timeout=10,
        headers={"Authorization": f"Bearer {token}", "xero-tenant-id": TENANT_A_ID, "Accept": "application/json"},
    )
    assert response.status_code == 200, response.text
    return dict(response.json())
