"""`make demo`: a scripted story through the real stack, printed as a timeline.

Starts everything `make run` starts (private Redis, sandbox Dataverse and Xero connected to each other,
gunicorn, an RQ worker, the registered webhook steps), then acts as a salesperson in the sandbox Dynamics:
creates an invoice, adds two lines and marks it ready for Xero. Each change fires a real webhook at the
connector; the timeline shows when each was accepted and what the worker did with it. Then the invoice as
the sandbox Xero holds it, and its Xero number, status and link as they came back onto the Dynamics row.
Finally finance approves and records the payment in Xero, and the Dynamics invoice turns Paid through Xero's
signed webhook: the whole round trip, with timings.
"""

from __future__ import annotations

import datetime as dt
import tempfile
import time
from pathlib import Path
from typing import Any

import requests
from redis import Redis
from rq import Queue
from rq.job import Job

from app import dynamics_schema as schema
from app.dynamics_schema import INVOICE_CONNECTION_NAV, INVOICE_INVOICE_TYPE, ExportStatus, InvoiceType
from app.job_serializer import JobSerializer
from app.launcher import LocalStack
from app.queue import invoice_scope, lock_key, pending_key
from sandbox.dataverse import seed
from sandbox.xero.admin_client import SandboxAdmin
from sandbox.xero.seed import TENANT_A_ID

TIMEOUT_SECONDS = 30


class Timeline:
    """Entries from several clocks (this script, the jobs' timestamps), printed in time order."""

    def __init__(self) -> None:
        self.started = time.time()
        self.entries: list[tuple[float, str, str]] = []

    def say(self, who: str, what: str, at: float | None = None) -> None:
        self.entries.append((at or time.time(), who, what))

    def print(self) -> None:
        for at, who, what in sorted(self.entries):
            print(f"{(at - self.started) * 1000:8.0f} ms  {who:<10} {what}", flush=True)


class SalesPerson:
    """Calls the sandbox Dynamics Web API as Sam Seller, a person (not the connector's own user)."""

    def __init__(self, dataverse_url: str) -> None:
        self.api = f"{dataverse_url}/api/data/v9.2/"
        self.session = requests.Session()
        self.session.headers.update(
            {
                "Authorization": f"Bearer {seed.SANDBOX_PERSON_TOKEN}",
                "Accept": "application/json",
                "OData-Version": "4.0",
                "OData-MaxVersion": "4.0",
                "Prefer": "return=representation",
            }
        )

    def create(self, entity_set: str, body: dict[str, Any]) -> dict[str, Any]:
        response = self.session.post(self.api + entity_set, json=body, timeout=10)
        response.raise_for_status()
        return response.json()

    def update(self, entity_set: str, row_id: str, body: dict[str, Any]) -> None:
        self.session.patch(
            f"{self.api}{entity_set}({row_id})", json=body, headers={"If-Match": "*"}, timeout=10
        ).raise_for_status()


def _jobs_for(redis: Redis, invoice_id: str) -> list[Job]:
    queue = Queue("dataverse", connection=redis, serializer=JobSerializer)
    ids = set(queue.finished_job_registry.get_job_ids()) | set(queue.failed_job_registry.get_job_ids())
    jobs = [job for job in Job.fetch_many(list(ids), connection=redis, serializer=JobSerializer) if job]
    return sorted((j for j in jobs if j.args[1].get("invoice_id") == invoice_id), key=lambda j: j.enqueued_at)


def _wait_for_quiet(stack: LocalStack, redis: Redis, invoice_id: str) -> None:
    """Until Dataverse has delivered every webhook and the connector has finished every job for the invoice.

    A job waiting in the queue keeps the invoice's pending pointer, a running one holds its lock: with the queue
    empty and neither key present, nothing is left to do.
    """
    requests.post(
        f"{stack.env['DATAVERSE_URL']}/_sandbox/webhooks/wait",
        params={"timeout": TIMEOUT_SECONDS},
        timeout=TIMEOUT_SECONDS + 5,
    )
    scope = invoice_scope(seed.ORGANIZATION_ID, invoice_id)
    queue = Queue("dataverse", connection=redis, serializer=JobSerializer)
    deadline = time.monotonic() + TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if queue.count == 0 and not redis.exists(pending_key(scope), lock_key(scope)):
            break
        time.sleep(0.05)
    # The connector's own write-back fires webhooks too (which it ignores): let them arrive before counting.
    requests.post(
        f"{stack.env['DATAVERSE_URL']}/_sandbox/webhooks/wait",
        params={"timeout": TIMEOUT_SECONDS},
        timeout=TIMEOUT_SECONDS + 5,
    )


def tell_story(stack: LocalStack) -> None:
    redis = Redis.from_url(stack.env["REDIS_URL"])
    sam = SalesPerson(stack.env["DATAVERSE_URL"])
    timeline = Timeline()

    invoice = sam.create(
        "invoices",
        {
            "name": "Consulting for Contoso, November",
            "customerid_account@odata.bind": f"/accounts({seed.ACCOUNT_IDS[0]})",
            "pricelevelid@odata.bind": f"/pricelevels({seed.PRICE_LIST_ID})",
            "transactioncurrencyid@odata.bind": f"/transactioncurrencies({seed.GBP_CURRENCY_ID})",
            "datedelivered": dt.date.today().isoformat(),
            "duedate": (dt.date.today() + dt.timedelta(days=30)).isoformat(),
            INVOICE_INVOICE_TYPE: int(InvoiceType.SALES_INVOICE),
        },
    )
    invoice_id = invoice["invoiceid"]
    timeline.say("Dynamics", f"Sam creates invoice {invoice['invoicenumber']} for Contoso Ltd")
    sam.create(
        "invoicedetails",
        {
            "invoiceid@odata.bind": f"/invoices({invoice_id})",
            "productid@odata.bind": f"/products({seed.PRODUCT_IDS[2]})",
            "uomid@odata.bind": f"/uoms({seed.UNIT_ID})",
            "quantity": 8,
        },
    )
    timeline.say("Dynamics", "Sam adds 8 consulting hours")
    sam.create(
        "invoicedetails",
        {
            "invoiceid@odata.bind": f"/invoices({invoice_id})",
            "isproductoverridden": True,
            "productdescription": "Travel",
            "quantity": 1,
            "priceperunit": 120,
        },
    )
    timeline.say("Dynamics", "Sam adds a write-in line for travel")
    sam.update(
        "invoices",
        invoice_id,
        {
            f"{INVOICE_CONNECTION_NAV}@odata.bind": f"/xc_connections({stack.env['SANDBOX_CONNECTION_ID']})",
        },
    )
    timeline.say("Dynamics", "Sam sets the Xero connection: the invoice is ready for Xero")

    _wait_for_quiet(stack, redis, invoice_id)
    deliveries = requests.get(f"{stack.env['DATAVERSE_URL']}/_sandbox/webhooks/deliveries", timeout=10).json()["value"]
    mine = [d for d in deliveries if d["recordid"] == invoice_id or d["entity"] == "invoicedetail"]
    accepted = sum(1 for d in mine if d["attempts"] and d["attempts"][-1] == 202)
    own = sum(1 for d in mine if d["attempts"] and d["attempts"][-1] == 200)
    timeline.say(
        "Dataverse",
        f"{len(mine)} webhooks fired for the invoice and its lines: {accepted} accepted "
        f"as work, {own} ignored (the connector's own write-back)",
    )
    for job in _jobs_for(redis, invoice_id):
        result = job.return_value() or {}
        events = result.get("events", "?")
        timeline.say(
            "connector", f"job {job.id[:22]}… queued ({events} event(s) joined it)", job.enqueued_at.timestamp()
        )
        done = f"job done by {result.get('handler', '?')}: {result.get('outcome', job.get_status())}"
        if result.get("result"):
            done += f" ({result['result']} in Xero)"
        elif result.get("reason"):
            done += f" ({result['reason']})"
        timeline.say("worker", done, job.ended_at.timestamp() if job.ended_at else None)
    timeline.print()
    xero_id = show_outcome(stack, invoice_id)
    if xero_id:
        pay_in_xero(stack, invoice_id, xero_id)


def show_outcome(stack: LocalStack, invoice_id: str) -> str | None:
    """The invoice as Xero holds it, and what came back onto the Dynamics row and its history; its Xero id."""
    connector = requests.Session()
    connector.headers.update(
        {
            "Authorization": f"Bearer {stack.env['DATAVERSE_TOKEN']}",
            "Accept": "application/json",
            "Prefer": 'odata.include-annotations="*"',
        }
    )
    api = f"{stack.env['DATAVERSE_URL']}/api/data/v9.2/"
    row = connector.get(f"{api}invoices({invoice_id})", timeout=10).json()
    xero_id = row.get(schema.INVOICE_XERO_INVOICE_ID)
    admin = SandboxAdmin(stack.env["XERO_API_URL"])
    try:
        found = [i for i in admin.state(TENANT_A_ID)["Invoices"] if i["InvoiceID"] == xero_id]
    finally:
        admin.close()
    print()
    if not found:
        print("The invoice did not reach Xero; see its Sync History in Dynamics.", flush=True)
        return None
    xero = found[0]
    lines = ", ".join(
        f"{line['Description']} {float(line['Quantity']):g} x {float(line['UnitAmount']):.2f}"
        for line in xero["LineItems"]
    )
    print(
        f"In Xero:     invoice {xero['InvoiceNumber']} for {xero['Contact']['Name']}, {xero['Status']}, "
        f"total {float(xero['Total']):.2f} {xero['CurrencyCode']} ({lines})"
    )
    export = ExportStatus(row[schema.INVOICE_EXPORT_STATUS]).name.replace("_", " ").capitalize()
    print(
        f"In Dynamics: Xero number {row[schema.INVOICE_XERO_NUMBER]}, Xero status {row[schema.INVOICE_XERO_STATUS]},"
        f" export status {export}, amount due {row[schema.INVOICE_AMOUNT_DUE]:.2f}"
    )
    print(f"             link {row[schema.INVOICE_XERO_LINK]}")
    history = connector.get(
        f"{api}{schema.SYNC_HISTORY_ENTITY_SET}",
        timeout=10,
        params={
            "$filter": f"_{schema.SYNC_HISTORY_INVOICE}_value eq {invoice_id}",
            "$orderby": f"{schema.SYNC_HISTORY_OCCURRED_ON} asc",
        },
    ).json()["value"]
    for entry in history:
        status = entry.get(f"{schema.SYNC_HISTORY_STATUS}@OData.Community.Display.V1.FormattedValue", "")
        print(f"             Sync History: {status} - {entry[schema.SYNC_HISTORY_DETAILS]}", flush=True)
    return xero_id


class FinanceUser:
    """Acts in the sandbox Xero as the finance team would: approves invoices and records payments."""

    SCOPES = (
        "offline_access",
        "accounting.invoices",
        "accounting.payments",
        "accounting.contacts",
        "accounting.settings",
    )

    def __init__(self, xero_url: str) -> None:
        admin = SandboxAdmin(xero_url)
        try:
            token = admin.mint_token([TENANT_A_ID], scopes=list(self.SCOPES))["access_token"]
        finally:
            admin.close()
        self.api = f"{xero_url}/api.xro/2.0"
        self.session = requests.Session()
        self.session.headers.update(
            {"Authorization": f"Bearer {token}", "xero-tenant-id": TENANT_A_ID, "Accept": "application/json"}
        )

    def approve(self, invoice_id: str) -> None:
        self.session.post(
            f"{self.api}/Invoices/{invoice_id}",
            timeout=10,
            json={"Invoices": [{"InvoiceID": invoice_id, "Status": "AUTHORISED"}]},
        ).raise_for_status()

    def pay_in_full(self, invoice_id: str) -> float:
        invoice = self.session.get(f"{self.api}/Invoices/{invoice_id}", timeout=10).json()["Invoices"][0]
        amount = float(invoice["AmountDue"])
        self.session.put(
            f"{self.api}/Payments",
            timeout=10,
            json={
                "Payments": [
                    {
                        "Invoice": {"InvoiceID": invoice_id},
                        "Account": {"Code": "090"},
                        "Amount": amount,
                        "Date": dt.date.today().isoformat(),
                    }
                ]
            },
        ).raise_for_status()
        return amount


def _wait_for_xero_subscription(xero_url: str) -> None:
    """Xero's intent-to-receive check of the connector runs in the background at start; let it finish."""
    admin = SandboxAdmin(xero_url)
    try:
        deadline = time.monotonic() + TIMEOUT_SECONDS
        while admin.webhooks()["status"] != "ACTIVE" and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        admin.close()


def pay_in_xero(stack: LocalStack, invoice_id: str, xero_id: str) -> None:
    """The second half of the loop: the customer pays in Xero and the Dynamics invoice turns Paid on its own."""
    print("\nThe customer pays; finance records it in Xero (no one touches Dynamics):\n", flush=True)
    _wait_for_xero_subscription(stack.env["XERO_API_URL"])
    finance = FinanceUser(stack.env["XERO_API_URL"])
    timeline = Timeline()
    finance.approve(xero_id)
    timeline.say("Xero", "finance approves the invoice (AUTHORISED)")
    paid_at = time.time()
    amount = finance.pay_in_full(xero_id)
    timeline.say("Xero", f"payment of {amount:.2f} GBP recorded: the invoice is PAID")

    connector = requests.Session()
    connector.headers.update({"Authorization": f"Bearer {stack.env['DATAVERSE_TOKEN']}", "Accept": "application/json"})
    row_url = f"{stack.env['DATAVERSE_URL']}/api/data/v9.2/invoices({invoice_id})"
    deadline = time.monotonic() + TIMEOUT_SECONDS
    row: dict[str, Any] = {}
    while time.monotonic() < deadline:
        row = connector.get(row_url, timeout=10).json()
        if row.get("statecode") == 2:
            break
        time.sleep(0.05)
    seen_at = time.time()

    redis = Redis.from_url(stack.env["REDIS_URL"])
    xero_queue = Queue("xero", connection=redis, serializer=JobSerializer)
    deadline = time.monotonic() + TIMEOUT_SECONDS  # the job writes the row, then finishes: let it finish
    while (xero_queue.count or xero_queue.started_job_registry.count) and time.monotonic() < deadline:
        time.sleep(0.05)
    for job in Job.fetch_many(
        xero_queue.finished_job_registry.get_job_ids(), connection=redis, serializer=JobSerializer
    ):
        if job and job.args[1].get("resource_id") == xero_id and job.ended_at and job.ended_at.timestamp() >= paid_at:
            timeline.say(
                "connector", f"Xero's signed webhook accepted: job {job.id[:20]}… queued", job.enqueued_at.timestamp()
            )
            timeline.say("worker", "job done: amounts and state written to Dynamics", job.ended_at.timestamp())
    if row.get("statecode") == 2:
        due, paid = row.get(schema.INVOICE_AMOUNT_DUE), row.get(schema.INVOICE_AMOUNT_PAID)
        timeline.say(
            "Dynamics",
            f"invoice is Paid (Xero status {row.get(schema.INVOICE_XERO_STATUS)}, "
            f"amount due {due:.2f}, paid {paid:.2f})",
            seen_at,
        )
        timeline.print()
        elapsed_ms = (seen_at - paid_at) * 1000
        print(f"\nPaid in Xero -> Paid in Dynamics in {elapsed_ms:.0f} ms, with no polling.", flush=True)
    else:
        timeline.print()
        print(f"\nThe Dynamics invoice was not Paid within {TIMEOUT_SECONDS} s; see its Sync History.", flush=True)


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="connector-demo-") as logs:
        print("Starting the stack (logs in a temporary folder)...", flush=True)
        with LocalStack(log_dir=Path(logs)) as stack:
            print("  " + "\n  ".join(stack.summary) + "\n", flush=True)
            tell_story(stack)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
