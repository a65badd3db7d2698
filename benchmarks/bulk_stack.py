"""The connector in bulk on the sandboxes: sandbox Dataverse and a time-scaled sandbox Xero, a private Redis,
one connection row per Xero organisation, many ready invoices, and workers that sync them.

Used by `benchmarks/bulk.py` (real `python -m app.worker` processes, as in production) and by the suite's small
version (`tests/benchmarks`, an in-process RQ worker). Invoices are written straight into sandbox Dataverse in
`$batch`es and their sync jobs submitted the way the reconciliation submits them, so the figures are the
workers' own: the intake has its own benchmark.

Counting: sandbox Xero counts every call per organisation and endpoint; sandbox Dataverse counts every Web API
request (a `$batch` once, as service protection does). Progress is read from the sandbox's store in-process, so
watching costs no request.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Any

from cryptography.fernet import Fernet
from redis import Redis
from rq import SimpleWorker

from app import dispatch
from app import dynamics_schema as schema
from app.clients.dataverse import BatchOperation, DataverseClient, StaticTokenSource
from app.clients.xero_tokens import TokenSet, TokenStore, token_cipher
from app.config import Settings
from app.dynamics_schema import ExportStatus
from app.embedded_redis import EmbeddedRedis
from app.job_serializer import JobSerializer
from app.queue import ALL_QUEUES, QUEUE_DATAVERSE, JobQueue, invoice_scope
from app.services import forget_services
from plugins_registration.auth import static_token
from plugins_registration.provision import provision
from plugins_registration.report import ChangeReport
from plugins_registration.webapi import WebApi
from sandbox.dataverse.seed import (
    ACCOUNT_IDS,
    CONNECTOR_USER_ID,
    PRICE_LIST_ID,
    PRODUCT_IDS,
    SANDBOX_CONNECTOR_TOKEN,
    UNIT_ID,
)
from sandbox.dataverse.server import RunningDataverse, serve_in_thread
from sandbox.xero import RunningSandbox
from sandbox.xero.admin_client import SandboxAdmin
from sandbox.xero.server import start_in_thread
from sandbox.xero.settings import Limits
from sandbox.xero.settings import Settings as XeroSandboxSettings

ORGANIZATION_ID = "b2fe5e36-4ad1-ee11-9078-000d3a4b7a1c"  # names invoice scopes, as the intake's events do
DAY_LIMIT = 1_000_000  # the benchmark measures speed; the calls a day allows are reported, not enforced
INVOICES_PER_BATCH = 300  # invoice + 2 lines each: 900 operations, under the 1,000 of one change set


@dataclass
class Organisation:
    tenant_id: str
    connection_id: str
    invoice_ids: list[str] = field(default_factory=list)


@dataclass
class BulkStack:
    dataverse: RunningDataverse
    xero: RunningSandbox
    admin: SandboxAdmin
    redis: Redis
    redis_url: str
    env: dict[str, str]
    time_scale: float
    tokens: TokenStore
    writer: DataverseClient
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)

    # -- set-up ---------------------------------------------------------------------------------------------
    def connect(self, tenant_id: str, name: str) -> Organisation:
        """A connection row for the organisation, with a stored token, as the connect flow leaves it."""
        connection_id = self.writer.create(
            schema.CONNECTION_ENTITY_SET,
            {
                schema.CONNECTION_NAME: name,
                schema.CONNECTION_XERO_TENANT_ID: tenant_id,
                schema.CONNECTION_XERO_TENANT_NAME: name,
                schema.CONNECTION_TIME_ZONE: "Europe/London",
                schema.CONNECTION_DEFAULT_SALES_ACCOUNT_CODE: "200",
                schema.CONNECTION_DEFAULT_PURCHASE_ACCOUNT_CODE: "300",
                schema.CONNECTION_CREATE_CONTACTS: True,
                schema.CONNECTION_STATUS: int(schema.ConnectionStatus.CONNECTED),
            },
        )
        self.tokens.save(connection_id, TokenSet.from_oauth_response(self.admin.mint_token([tenant_id])))
        return Organisation(tenant_id, connection_id)

    def add_invoices(
        self, organisation: Organisation, count: int, *, customers: int = 3, accounts: tuple[str, ...] = ACCOUNT_IDS
    ) -> list[str]:
        """`count` ready invoices (a Widget line and a write-in line each) for up to `customers` of `accounts`.

        Two organisations get different accounts: a Dynamics account keeps one Xero contact id today."""
        created: list[str] = []
        for start in range(0, count, INVOICES_PER_BATCH):
            operations = []
            for n in range(start, min(count, start + INVOICES_PER_BATCH)):
                invoice_id = str(uuid.uuid4())
                created.append(invoice_id)
                operations.extend(
                    _invoice_operations(invoice_id, n, organisation, accounts[n % min(customers, len(accounts))])
                )
            self.writer.batch(operations)
        organisation.invoice_ids.extend(created)
        return created

    def submit(self, invoice_ids: list[str]) -> None:
        """One `invoice.sync` job per invoice, as the intake or the reconciliation submits them."""
        jobs = JobQueue(self.redis, Settings(redis_url=self.redis_url))
        for invoice_id in invoice_ids:
            jobs.submit_coalesced(
                QUEUE_DATAVERSE,
                "invoice.sync",
                {"organization_id": ORGANIZATION_ID, "invoice_id": invoice_id},
                scope=invoice_scope(ORGANIZATION_ID, invoice_id),
                trigger={"benchmark": True},
            )

    # -- workers --------------------------------------------------------------------------------------------
    def start_workers(self, count: int) -> None:
        """`count` real worker processes (each job in a forked work-horse, as in production)."""
        env = {**os.environ, **self.env}
        for n in range(count):
            self.workers.append(
                subprocess.Popen(
                    [sys.executable, "-m", "app.worker", "--name", f"bench-{uuid.uuid4().hex[:8]}-{n}"],
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )

    def stop_workers(self) -> None:
        for process in self.workers:
            process.send_signal(signal.SIGTERM)
        for process in self.workers:
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)
        self.workers.clear()

    def work_in_process(self) -> None:
        """Run every queued job here (the suite's small version), including retries that come due."""
        with _environment(self.env):
            queues = [JobQueue(self.redis, Settings(redis_url=self.redis_url)).queue(name) for name in ALL_QUEUES]
            for _ in range(50):
                SimpleWorker(queues, connection=self.redis, serializer=JobSerializer).work(
                    burst=True, with_scheduler=False, logging_level="WARNING"
                )
                due = _move_due_jobs(queues)
                if not due and not any(queue.count for queue in queues):
                    if not _scheduled(queues):
                        return
                    time.sleep(0.2)

    # -- watching and counting --------------------------------------------------------------------------------
    def exported(self, invoice_ids: list[str]) -> int:
        """How many of these invoices Dynamics shows as exported (read in-process: no request)."""
        store = self.dataverse.sandbox.store
        done = 0
        with store.lock:
            for invoice_id in invoice_ids:
                row = store.get("invoice", invoice_id)
                if row is not None and row.get(schema.INVOICE_EXPORT_STATUS) == int(ExportStatus.YES):
                    done += 1
        return done

    def failed(self, invoice_ids: list[str]) -> int:
        store = self.dataverse.sandbox.store
        with store.lock:
            return sum(
                1
                for invoice_id in invoice_ids
                if (row := store.get("invoice", invoice_id)) is not None
                and row.get(schema.INVOICE_EXPORT_STATUS) == int(ExportStatus.FAILED)
            )

    def wait_exported(self, invoice_ids: list[str], timeout: float, poll: float = 0.05) -> float:
        """Seconds until every invoice is exported (or failed); raises after `timeout`."""
        started = time.perf_counter()
        while True:
            if self.exported(invoice_ids) + self.failed(invoice_ids) >= len(invoice_ids):
                return time.perf_counter() - started
            if time.perf_counter() - started > timeout:
                raise TimeoutError(f"{self.exported(invoice_ids)} of {len(invoice_ids)} exported after {timeout} s")
            time.sleep(poll)

    def xero_calls(self, tenant_id: str) -> Counter[str]:
        usage = self.admin.calls().get(tenant_id.lower()) or self.admin.calls().get(tenant_id) or {}
        return Counter(usage.get("endpoints", {}))

    def dataverse_requests(self, *, clear: bool = False) -> Counter[str]:
        return Counter(self.dataverse.sandbox.request_counts(clear=clear))

    def xero_duplicates(self, tenant_id: str) -> int:
        """Xero invoices beyond one per Dynamics invoice (matched by the reference the connector sends)."""
        invoices = self.admin.state(tenant_id)["Invoices"]
        by_number = Counter(str(i.get("InvoiceNumber") or i.get("Reference") or i["InvoiceID"]) for i in invoices)
        return sum(n - 1 for n in by_number.values() if n > 1)


def _invoice_operations(invoice_id: str, n: int, organisation: Organisation, account: str) -> list[BatchOperation]:
    today = date.today()
    invoice = {
        "invoiceid": invoice_id,
        "name": f"Bulk {n:05d}",
        "customerid_account@odata.bind": f"/accounts({account})",
        "pricelevelid@odata.bind": f"/pricelevels({PRICE_LIST_ID})",
        "datedelivered": today.isoformat(),
        "duedate": (today + timedelta(days=30)).isoformat(),
        schema.INVOICE_INVOICE_TYPE: int(schema.InvoiceType.SALES_INVOICE),
        **schema.bind(schema.lookup("invoice", schema.INVOICE_CONNECTION), organisation.connection_id),
    }
    bind = {"invoiceid@odata.bind": f"/invoices({invoice_id})"}
    widget = {
        **bind,
        "productid@odata.bind": f"/products({PRODUCT_IDS[0]})",
        "uomid@odata.bind": f"/uoms({UNIT_ID})",
        "quantity": 1 + n % 7,
    }
    travel = {**bind, "isproductoverridden": True, "productdescription": "Travel", "quantity": 1, "priceperunit": 120}
    return [
        BatchOperation.create("invoices", invoice),
        BatchOperation.create("invoicedetails", widget),
        BatchOperation.create("invoicedetails", travel),
    ]


def _move_due_jobs(queues: list[Any]) -> int:
    moved = 0
    for queue in queues:
        registry = queue.scheduled_job_registry
        for job_id in registry.get_jobs_to_schedule(int(time.time()) + 1):
            registry.remove(job_id)
            queue._enqueue_job(queue.fetch_job(job_id))  # what RQ's scheduler does when the time comes
            moved += 1
    return moved


def _scheduled(queues: list[Any]) -> int:
    return sum(queue.scheduled_job_registry.count for queue in queues)


@contextmanager
def _environment(env: dict[str, str]) -> Iterator[None]:
    saved = {key: os.environ.get(key) for key in env}
    os.environ.update(env)
    dispatch._environment = None
    forget_services()
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        dispatch._environment = None
        forget_services()


@contextmanager
def bulk_stack(*, time_scale: float = 0.02, concurrent: int = 5, **extra_env: str) -> Iterator[BulkStack]:
    """Both sandboxes and a private Redis; Xero's minute lasts `60 * time_scale` real seconds on both sides."""
    limits = Limits(per_day=DAY_LIMIT, concurrent=concurrent)
    xero = start_in_thread(replace(XeroSandboxSettings(), time_scale=time_scale, limits=limits))
    dataverse = serve_in_thread()
    admin = SandboxAdmin(xero.url, xero.settings.admin_token)
    with EmbeddedRedis() as redis_server:
        provision(
            WebApi(dataverse.url.rstrip("/"), static_token(SANDBOX_CONNECTOR_TOKEN)), ChangeReport(out=lambda _: None)
        )
        keys = Fernet.generate_key().decode()
        url = xero.url.rstrip("/")
        env = {
            "REDIS_URL": redis_server.url,
            "CONNECTOR_USER_ID": CONNECTOR_USER_ID,
            "DATAVERSE_WEBHOOK_SECRETS": "benchmark-secret",
            "LOG_LEVEL": "WARNING",
            "DATAVERSE_URL": dataverse.url.rstrip("/"),
            "DATAVERSE_TOKEN": SANDBOX_CONNECTOR_TOKEN,
            "XERO_CLIENT_ID": xero.settings.client_id,
            "XERO_CLIENT_SECRET": xero.settings.client_secret,
            "TOKEN_ENCRYPTION_KEYS": keys,
            "XERO_API_URL": url,
            "XERO_IDENTITY_URL": url,
            "XERO_LOGIN_URL": url,
            "XERO_DAY_LIMIT": str(DAY_LIMIT),
            "XERO_LIMIT_TIME_SCALE": str(time_scale),
            **extra_env,
        }
        redis = Redis.from_url(redis_server.url)
        writer = DataverseClient(dataverse.url, StaticTokenSource(SANDBOX_CONNECTOR_TOKEN))
        stack = BulkStack(
            dataverse=dataverse,
            xero=xero,
            admin=admin,
            redis=redis,
            redis_url=redis_server.url,
            env=env,
            time_scale=time_scale,
            tokens=TokenStore(redis, token_cipher([keys])),
            writer=writer,
        )
        try:
            yield stack
        finally:
            stack.stop_workers()
            writer.close()
            redis.close()
            admin.close()
            xero.stop()
            dataverse.server.shutdown()
