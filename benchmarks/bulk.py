"""Bulk sending to Xero on the sandboxes, with Xero's limits on and its clock time-scaled.

Figures (each printed with the goal it is measured against):
- one organisation, `BENCH_BULK_INVOICES` ready invoices (default 5,000), with 1 and with 4 worker processes:
  total Xero calls (goal <= 250 for 5,000), invoices per Xero-minute as a share of Xero's ceiling of 3,000
  (60 calls x 50 invoices; goal >= 90 %), Dataverse requests per invoice (goal <= 3), duplicates in Xero (0);
- two organisations at once: a small run for B while A is saturated, against the same run for B alone;
- one invoice at a time when the organisation is idle: latency p50 / p95 from job to exported (goal p95 <= 1 s).

`BENCH_TIME_SCALE` (default 0.05) shrinks Xero's minute to 3 real seconds on both sides (the sandbox's
`--time-scale` and the connector's `XERO_LIMIT_TIME_SCALE`), so "per Xero-minute" means per 60 x scale seconds.
Xero's daily limit is lifted during the run and each run's calls are reported as a share of the 5,000 a day.
When the workers, not Xero, are the bottleneck (each job runs in a forked work-horse), the share of the ceiling
depends on the time scale: the invoices per real second are printed too.
"""

from __future__ import annotations

import os
import statistics
import time

from benchmarks.bulk_stack import BulkStack, bulk_stack
from sandbox.dataverse.seed import ACCOUNT_IDS
from sandbox.xero.seed import TENANT_A_ID, TENANT_B_ID

A_ACCOUNTS, B_ACCOUNTS = ACCOUNT_IDS[:2], ACCOUNT_IDS[2:]  # one Xero contact per Dynamics account today
CEILING_PER_XERO_MINUTE = 3000  # 60 calls a minute x 50 invoices a call
XERO_DAY = 5000


def _env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, "") or default)


def _xero_minutes(stack: BulkStack, seconds: float) -> float:
    return seconds / (60 * stack.time_scale)


def one_organisation(invoices: int, workers: int, time_scale: float) -> None:
    with bulk_stack(time_scale=time_scale) as stack:
        org = stack.connect(TENANT_A_ID, "Sandbox Trading Ltd")
        ids = stack.add_invoices(org, invoices)
        stack.dataverse_requests(clear=True)
        stack.submit(ids)
        stack.start_workers(workers)
        elapsed = stack.wait_exported(ids, timeout=max(600.0, invoices * 0.5))
        stack.stop_workers()
        calls = stack.xero_calls(TENANT_A_ID)
        total_calls = sum(calls.values())
        requests = sum(stack.dataverse_requests().values())
        per_minute = invoices / _xero_minutes(stack, elapsed)
        failed = stack.failed(ids)
        print(
            f"bulk, 1 organisation, {invoices} invoices, {workers} worker(s): {elapsed:.1f} s "
            f"({invoices / elapsed:.1f} invoices/s) = {_xero_minutes(stack, elapsed):.1f} Xero-minutes; "
            f"Xero calls {total_calls} (goal <= {250 * invoices // 5000}; "
            f"{total_calls / invoices:.2f} per invoice; {100 * total_calls / XERO_DAY:.0f} % of a 5,000-call day) "
            f"[{', '.join(f'{k} {v}' for k, v in calls.most_common())}]; "
            f"{per_minute:,.0f} invoices per Xero-minute = {100 * per_minute / CEILING_PER_XERO_MINUTE:.1f} % "
            f"of the 3,000 ceiling (goal >= 90 %); "
            f"Dataverse requests per invoice {requests / invoices:.2f} (goal <= 3); "
            f"duplicates {stack.xero_duplicates(TENANT_A_ID)} (goal 0); failed {failed}"
        )


def two_organisations(invoices: int, small: int, time_scale: float) -> None:
    with bulk_stack(time_scale=time_scale) as stack:
        busy = stack.connect(TENANT_A_ID, "Sandbox Trading Ltd")
        quiet = stack.connect(TENANT_B_ID, "Northwind Goods Ltd")
        stack.start_workers(4)
        warm = stack.add_invoices(busy, 1, accounts=A_ACCOUNTS) + stack.add_invoices(quiet, 1, accounts=B_ACCOUNTS)
        stack.submit(warm)
        stack.wait_exported(warm, timeout=120)
        alone_ids = stack.add_invoices(quiet, small, accounts=B_ACCOUNTS)
        stack.submit(alone_ids)
        alone = stack.wait_exported(alone_ids, timeout=300)
        busy_ids = stack.add_invoices(busy, invoices, accounts=A_ACCOUNTS)
        quiet_ids = stack.add_invoices(quiet, small, accounts=B_ACCOUNTS)
        stack.submit(busy_ids[: invoices // 2])
        time.sleep(2 * 60 * time_scale)  # A is saturated before B's run arrives
        stack.submit(quiet_ids)
        stack.submit(busy_ids[invoices // 2 :])
        beside = stack.wait_exported(quiet_ids, timeout=600)
        busy_done = stack.exported(busy_ids)
        stack.stop_workers()
        print(
            f"two organisations, 4 workers: B's {small} invoices took {alone:.2f} s alone and {beside:.2f} s "
            f"while A ran {invoices} = {beside / alone:.2f}x (goal: about 1x); A had {busy_done} exported by then, "
            f"failed: A {stack.failed(busy_ids)}, B {stack.failed(quiet_ids)}"
        )


def idle_latency(samples: int, time_scale: float) -> None:
    with bulk_stack(time_scale=time_scale) as stack:
        org = stack.connect(TENANT_A_ID, "Sandbox Trading Ltd")
        stack.start_workers(1)
        warm = stack.add_invoices(org, 1)
        stack.submit(warm)
        stack.wait_exported(warm, timeout=60)
        latencies = []
        for _ in range(samples):
            ids = stack.add_invoices(org, 1)
            time.sleep(60 * time_scale)  # idle: a fresh Xero minute for each
            started = time.perf_counter()
            stack.submit(ids)
            stack.wait_exported(ids, timeout=60, poll=0.005)
            latencies.append(time.perf_counter() - started)
        stack.stop_workers()
    quantiles = statistics.quantiles(latencies, n=20)
    print(
        f"single invoice, idle organisation, 1 worker: {samples} invoices one at a time, job to exported "
        f"p50 {statistics.median(latencies) * 1000:.0f} ms, p95 {quantiles[18] * 1000:.0f} ms (goal p95 <= 1000 ms)"
    )


def main() -> None:
    invoices = _env_int("BENCH_BULK_INVOICES", 5000)
    time_scale = float(os.environ.get("BENCH_TIME_SCALE", "") or 0.05)
    for workers in (1, 4):
        one_organisation(invoices, workers, time_scale)
    two_organisations(max(invoices // 5, 100), 20, time_scale)
    idle_latency(_env_int("BENCH_LATENCY_SAMPLES", 20), time_scale)


if __name__ == "__main__":
    main()
