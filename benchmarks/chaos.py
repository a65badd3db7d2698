"""Chaos: invoices through the real stack while it is being broken, then a check that nothing was lost or doubled.

    .venv/bin/python -m benchmarks.chaos --invoices 300            # the full run (minutes)
    .venv/bin/python -m benchmarks.chaos --invoices 300 --baseline # first the same work without faults, for the bound

The stack is `make run`'s (`app.launcher.LocalStack`): sandbox Dataverse and sandbox Xero as processes, gunicorn,
several RQ workers and the scheduler, all over real HTTP, with the private Redis persisting (AOF) to a temporary
folder. While a person creates the invoices in Dynamics (invoice, then a line), the run

- SIGKILLs a random worker every `--kill-every` seconds and starts a new one;
- has sandbox Xero answer a share of calls with 5xx, and now and then commit a write and drop its answer, or
  answer a burst of 429s;
- loses a share of the webhooks each way (sandbox Dataverse and sandbox Xero fault controls);
- crashes Redis once (SIGKILL) half way and starts it again on its data folder.

Then the faults stop and the run waits for the stack to drain: every invoice in Xero exactly once with Dynamics'
total, every Dynamics row exported with its Xero id, no failed job and nothing waiting. It prints how long the
drain took and the bound it had to meet; `check()` raises `ChaosFailure` naming what is wrong.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import requests
from redis import Redis
from redis.exceptions import RedisError
from rq import Queue

from app import dynamics_schema as schema
from app.dynamics_schema import ExportStatus
from app.embedded_redis import free_port
from app.launcher import LocalStack
from app.queue import ALL_QUEUES
from app.schedule import PERIODIC
from sandbox.dataverse.seed import ACCOUNT_IDS, PRICE_LIST_ID, PRODUCT_IDS, SANDBOX_PERSON_TOKEN, UNIT_ID
from sandbox.xero.admin_client import SandboxAdmin
from sandbox.xero.seed import TENANT_A_ID

ODATA = {"Accept": "application/json", "OData-Version": "4.0", "OData-MaxVersion": "4.0"}
GONE = {"DELETED", "VOIDED"}


class ChaosFailure(AssertionError):
    """The stack did not end right: what is wrong, per invoice or per queue."""


@dataclass
class ChaosConfig:
    invoices: int = 300
    workers: int = 4
    kill_every: float = 2.0  # seconds between two worker kills; 0: none
    xero_error_rate: float = 0.1
    webhook_drop_rate: float = 0.1
    redis_restart: bool = True
    faults: bool = True  # False: the same work without any fault (the baseline)
    drain_bound: float = 600.0  # seconds the stack may take to drain once the faults stop
    creators: int = 4  # people creating invoices at once
    per_second: float = 2.0  # invoices created per second: the chaos lasts invoices / per_second
    seed: int = 7


@dataclass
class ChaosReport:
    invoices: int
    chaos_seconds: float
    drain_seconds: float
    kills: int
    redis_restarts: int
    problems: list[str] = field(default_factory=list)

    def line(self) -> str:
        return (
            f"{self.invoices} invoices: chaos {self.chaos_seconds:.1f} s ({self.kills} workers killed, "
            f"{self.redis_restarts} Redis restart), drained in {self.drain_seconds:.1f} s"
        )


def stack_environ(config: ChaosConfig, data_dir: Path) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("REDIS_", "DATAVERSE_", "XERO_", "SANDBOX_"))}
    return {
        **keep,
        "PORT": str(free_port()),
        "SANDBOX_DATAVERSE_PORT": str(free_port()),
        "SANDBOX_XERO_PORT": str(free_port()),
        "REDIS_DATA_DIR": str(data_dir),
        "LOG_LEVEL": "WARNING",
        # Short periods so the safety nets act within the run, not within a production hour.
        "RECONCILE_INTERVAL_SECONDS": "4",
        "RECONCILE_OVERLAP_SECONDS": "30",
        "RETRY_BASE_SECONDS": "1",
        "RETRY_MAX_SECONDS": "8",
        "RETRY_MAX_ATTEMPTS": "20",
        "XERO_MINUTE_LIMIT": "5000",
        "XERO_LIMIT_WAIT_SECONDS": "5",
    }


class Chaos:
    """One run: the stack, the person creating invoices, the hand breaking things, and the final check."""

    def __init__(self, config: ChaosConfig, stack: LocalStack) -> None:
        self.config = config
        self.stack = stack
        self.env = stack.env
        self.random = random.Random(config.seed)
        self.xero = SandboxAdmin(self.env["XERO_API_URL"])
        self.api = f"{self.env['DATAVERSE_URL']}/api/data/v9.2/"
        self.connector = requests.Session()
        self.connector.headers.update({**ODATA, "Authorization": f"Bearer {self.env['DATAVERSE_TOKEN']}"})
        self.invoice_ids: list[str] = []
        self.kills = 0
        self.redis_restarts = 0
        self._worker_count = 0
        self._stop = threading.Event()
        self._lock = threading.Lock()

    # -- the stack ----------------------------------------------------------------------------------------------
    def start_workers(self) -> None:
        for _ in range(self.config.workers - 1):  # the stack started one
            self._start_worker()
        # Xero's per-minute limit would make this a test of patience: lifted, both in the sandbox and here.
        self.xero.set_limits(per_minute=5000)

    def _start_worker(self) -> None:
        self._worker_count += 1
        self.stack.supervisor.start(f"worker-{self._worker_count}", [sys.executable, "-m", "app.worker"], self.env)

    def live_workers(self) -> list[Any]:
        return [
            child
            for name, child in self.stack.supervisor.children
            if name.startswith("worker") and child.poll() is None
        ]

    def keep_processes_up(self) -> None:
        """A process that died on its own (Redis gone under it) is started again, as a process manager would."""
        workers = self.live_workers()
        for _ in range(self.config.workers - len(workers)):
            self._start_worker()
        for name, child in list(self.stack.supervisor.children):
            if name == "scheduler" and child.poll() is not None:
                self.stack.supervisor.children.remove((name, child))
                self.stack.supervisor.start("scheduler", [sys.executable, "-m", "app.scheduler"], self.env)

    # -- faults -------------------------------------------------------------------------------------------------
    def faults_on(self) -> None:
        if not self.config.faults:
            return
        self.xero.set_faults(error_rate=self.config.xero_error_rate, error_status=500)
        self.xero.drop_webhooks(self.config.webhook_drop_rate)
        self._dataverse_drop(self.config.webhook_drop_rate)

    def faults_off(self) -> None:
        self.xero.set_faults(error_rate=0.0, rate_limit_next=0, drop_next=0)
        self.xero.drop_webhooks(0.0)
        self._dataverse_drop(0.0)

    def _dataverse_drop(self, rate: float) -> None:
        answer = requests.put(
            f"{self.env['DATAVERSE_URL']}/_sandbox/webhooks/faults",
            json={"drop_rate": rate, "seed": self.config.seed},
            timeout=10,
        )
        answer.raise_for_status()

    @contextmanager
    def breaking(self, restart_redis_after: float) -> Iterator[None]:
        thread = threading.Thread(target=self._break, args=(restart_redis_after,), daemon=True)
        thread.start()
        try:
            yield
        finally:
            self._stop.set()
            thread.join(30)

    def _break(self, restart_redis_after: float) -> None:
        started = time.monotonic()
        next_kill = started + self.config.kill_every if self.config.kill_every else float("inf")
        next_burst = started + 5
        while not self._stop.wait(0.2):
            now = time.monotonic()
            if self.config.faults and now >= next_kill:
                next_kill = now + self.config.kill_every
                workers = self.live_workers()
                if workers:
                    os.kill(self.random.choice(workers).pid, signal.SIGKILL)
                    self.kills += 1
            if self.config.faults and now >= next_burst:
                next_burst = now + 10  # a minute's 429 pauses the tenant: one burst per 10 s is plenty
                with suppress(requests.RequestException):
                    self.xero.set_faults(rate_limit_next=4, drop_next=1)  # a 429 burst and a commit-then-drop
            restart_due = self.config.redis_restart and now - started >= restart_redis_after
            if self.config.faults and restart_due and not self.redis_restarts and self.stack.redis_server:
                self.stack.redis_server.restart()
                self.redis_restarts += 1
            self.keep_processes_up()

    # -- the person ---------------------------------------------------------------------------------------------
    def create_invoices(self) -> None:
        person = requests.Session()
        person.headers.update({**ODATA, "Authorization": f"Bearer {SANDBOX_PERSON_TOKEN}"})
        connection_id = self.env["SANDBOX_CONNECTION_ID"]
        bind = schema.bind(schema.lookup("invoice", schema.INVOICE_CONNECTION), connection_id)

        def one(index: int) -> None:
            created = person.post(
                self.api + "invoices",
                headers={"Prefer": "return=representation"},
                timeout=30,
                json={
                    "name": f"Chaos {index:04d}",
                    "customerid_account@odata.bind": f"/accounts({ACCOUNT_IDS[index % len(ACCOUNT_IDS)]})",
                    "pricelevelid@odata.bind": f"/pricelevels({PRICE_LIST_ID})",
                    "datedelivered": time.strftime("%Y-%m-%d", time.gmtime()),
                    **bind,
                },
            )
            created.raise_for_status()
            invoice_id = str(created.json()["invoiceid"])
            line = person.post(
                self.api + "invoicedetails",
                timeout=30,
                json={
                    "invoiceid@odata.bind": f"/invoices({invoice_id})",
                    "productid@odata.bind": f"/products({PRODUCT_IDS[0]})",
                    "uomid@odata.bind": f"/uoms({UNIT_ID})",
                    "quantity": 1 + index % 9,
                },
            )
            line.raise_for_status()
            with self._lock:
                self.invoice_ids.append(invoice_id)

        started = time.monotonic()

        def paced(index: int) -> None:
            # Spread over the chaos, so the faults meet invoices at every stage, not one burst at the start.
            delay = started + index / self.config.per_second - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            one(index)

        with ThreadPoolExecutor(self.config.creators) as pool:
            list(pool.map(paced, range(self.config.invoices)))

    # -- the check ----------------------------------------------------------------------------------------------
    def problems(self) -> list[str]:
        """Everything not yet right; empty once the run ended well."""
        found: list[str] = []
        try:
            found += self._queue_problems()
        except RedisError as exc:
            return [f"Redis unreachable: {type(exc).__name__}"]
        xero = [i for i in self.xero.state(TENANT_A_ID)["Invoices"] if i["Status"] not in GONE]
        by_number: dict[str, list[dict[str, Any]]] = {}
        for document in xero:
            by_number.setdefault(str(document.get("InvoiceNumber")), []).append(document)
        for invoice_id in self.invoice_ids:
            found += self._invoice_problems(invoice_id, by_number)
        return found

    def _queue_problems(self) -> list[str]:
        """Jobs failed, or still waiting or running; the periodic ones (a reconciliation every few seconds) are
        the stack's heartbeat, not work left over."""
        redis = Redis.from_url(self.env["REDIS_URL"], socket_timeout=5)
        # Job ids start with their kind (app.queue): no need to read (deserialise) the jobs themselves.
        periodic = tuple(f"{entry.kind.replace('.', '_')}-" for entry in PERIODIC)
        found = []
        for name in ALL_QUEUES:
            queue = Queue(name, connection=redis)
            waiting = {
                "queued": queue.get_job_ids(),
                "scheduled": queue.scheduled_job_registry.get_job_ids(),
                "started": queue.started_job_registry.get_job_ids(),
                "deferred": queue.deferred_job_registry.get_job_ids(),
            }
            for state, job_ids in waiting.items():
                left = [job_id for job_id in job_ids if not job_id.startswith(periodic)]
                if left:
                    found.append(f"queue {name}: {len(left)} {state} ({', '.join(left[:3])})")
            failed = queue.failed_job_registry.count
            if failed:
                found.append(f"queue {name}: {failed} failed")
        redis.close()
        return found

    def _invoice_problems(self, invoice_id: str, by_number: dict[str, list[dict[str, Any]]]) -> list[str]:
        columns = ["invoicenumber", "totalamount", schema.INVOICE_EXPORT_STATUS, schema.INVOICE_XERO_INVOICE_ID]
        row = self.connector.get(
            f"{self.api}invoices({invoice_id})", params={"$select": ",".join(columns)}, timeout=30
        ).json()
        number = row["invoicenumber"]
        documents = by_number.get(number, [])
        if len(documents) != 1:
            return [f"{number}: {len(documents)} documents in Xero"]
        [document] = documents
        found = []
        total = Decimal(str(row["totalamount"]))
        if Decimal(str(document["Total"])) != total:
            found.append(f"{number}: Xero total {document['Total']}, Dynamics {total}")
        if row[schema.INVOICE_EXPORT_STATUS] != int(ExportStatus.YES):
            found.append(f"{number}: export status {row[schema.INVOICE_EXPORT_STATUS]}")
        if (row[schema.INVOICE_XERO_INVOICE_ID] or "").lower() != document["InvoiceID"].lower():
            found.append(f"{number}: Dynamics carries Xero id {row[schema.INVOICE_XERO_INVOICE_ID]}")
        return found


def run(config: ChaosConfig, log_dir: Path | None = None) -> ChaosReport:
    """One run from an empty stack; the report's `problems` are what was still wrong at the bound."""
    with tempfile.TemporaryDirectory(prefix="connector-chaos-") as scratch:
        logs = log_dir or Path(scratch)
        logs.mkdir(parents=True, exist_ok=True)  # --logs may name a folder that does not exist yet
        with LocalStack(environ=stack_environ(config, Path(scratch) / "redis"), log_dir=logs) as stack:
            chaos = Chaos(config, stack)
            chaos.start_workers()
            chaos.faults_on()
            started = time.monotonic()
            # Redis goes down half way through the creating.
            with chaos.breaking(restart_redis_after=config.invoices / config.per_second / 2):
                chaos.create_invoices()
            chaos_seconds = time.monotonic() - started
            chaos.faults_off()
            drain_started = time.monotonic()
            problems = chaos.problems()
            while problems and time.monotonic() - drain_started < config.drain_bound:
                chaos.keep_processes_up()
                time.sleep(1.0)
                problems = chaos.problems()
            return ChaosReport(
                invoices=len(chaos.invoice_ids),
                chaos_seconds=chaos_seconds,
                drain_seconds=time.monotonic() - drain_started,
                kills=chaos.kills,
                redis_restarts=chaos.redis_restarts,
                problems=problems,
            )


def check(report: ChaosReport, bound: float) -> None:
    if report.problems:
        shown = "; ".join(report.problems[:20])
        raise ChaosFailure(f"not drained within {bound:.0f} s: {len(report.problems)} problems: {shown}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.chaos", description=__doc__.split("\n\n")[0])
    parser.add_argument("--invoices", type=int, default=300)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--kill-every", type=float, default=2.0, help="seconds between worker kills (0: none)")
    parser.add_argument("--per-second", type=float, default=2.0, help="invoices created per second")
    parser.add_argument("--bound", type=float, default=None, help="drain bound in seconds (default: 2 x baseline)")
    parser.add_argument("--baseline", action="store_true", help="first run the same work without faults")
    parser.add_argument("--logs", type=Path, default=None, help="keep the processes' logs in this folder")
    args = parser.parse_args(argv)
    config = ChaosConfig(
        invoices=args.invoices, workers=args.workers, kill_every=args.kill_every, per_second=args.per_second
    )
    bound = args.bound or 900.0
    if args.baseline:
        quiet = ChaosConfig(
            invoices=args.invoices,
            workers=args.workers,
            faults=False,
            drain_bound=bound,
            per_second=args.per_second,
        )
        baseline = run(quiet)
        check(baseline, bound)
        calm = baseline.chaos_seconds + baseline.drain_seconds
        print(f"baseline, no faults: {baseline.line()}; {calm:.1f} s in all", flush=True)
        bound = args.bound or 2 * calm
    config.drain_bound = bound
    report = run(config, args.logs)
    print(f"chaos: {report.line()}; bound {bound:.1f} s", flush=True)
    try:
        check(report, bound)
    except ChaosFailure as failure:
        print(f"FAILED: {failure}", flush=True)
        return 1
    print("every invoice in Xero exactly once with Dynamics' total; every Dynamics row exported; no failed jobs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
