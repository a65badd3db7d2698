"""`make demo`: a scripted story through the real stack, printed as a timeline.

Starts everything `make run` starts (private Redis, sandbox Dataverse and Xero connected to each other,
gunicorn, an RQ worker, the registered webhook steps), then acts as a salesperson in the sandbox Dynamics:
creates an invoice, adds two lines and marks it ready for Xero. Each change fires a real webhook at the
connector; the timeline shows when each was accepted and what the worker did with it. Then the invoice as
the sandbox Xero holds it, and its Xero number, status and link as they came back onto the Dynamics row.
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
        self.session.headers.update({
            "Authorization": f"Bearer {seed.SANDBOX_PERSON_TOKEN}", "Accept": "application/json",
            "OData-Version": "4.0", "OData-MaxVersion": "4.0", "Prefer": "return=representation",
        })

    def create(self, entity_set: str, body: dict[str, Any]) -> dict[str, Any]:
        response = self.session.post(self.api + entity_set, json=body, timeout=10)
        response.raise_for_status()
        return response.json()

    def update(self, entity_set: str, row_id: str, body: dict[str, Any]) -> None:
        self.session.patch(f"{self.api}{entity_set}({row_id})", json=body, headers={"If-Match": "*"},
                           timeout=10).raise_for_status()


def _jobs_for(redis: Redis, invoice_id: str) -> list[Job]:
    queue = Queue("dataverse", connection=redis)
    ids = set(queue.finished_job_registry.get_job_ids()) | set(queue.failed_job_registry.get_job_ids())
    jobs = [job for job in Job.fetch_many(list(ids), connection=redis) if job]
    return sorted((j for j in jobs if j.args[1].get("invoice_id") == invoice_id), key=lambda j: j.enqueued_at)


def _wait_for_quiet(stack: LocalStack, redis: Redis, invoice_id: str) -> None:
    """Until Dataverse has delivered every webhook and the connector has finished every job for the invoice.

    A job waiting in the queue keeps the invoice's pending pointer, a running one holds its lock: with the queue
    empty and neither key present, nothing is left to do.
    """
    requests.post(f"{stack.env['DATAVERSE_URL']}/_sandbox/webhooks/wait", params={"timeout": TIMEOUT_SECONDS},
                  timeout=TIMEOUT_SECONDS + 5)
    scope = invoice_scope(seed.ORGANIZATION_ID, invoice_id)
    queue = Queue("dataverse", connection=redis)
    deadline = time.monotonic() + TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if queue.count == 0 and not redis.exists(pending_key(scope), lock_key(scope)):
            break
        time.sleep(0.05)
    # The connector's own write-back fires webhooks too (which it ignores): let them arrive before counting.
    requests.post(f"{stack.env['DATAVERSE_URL']}/_sandbox/webhooks/wait", params={"timeout": TIMEOUT_SECONDS},
                  timeout=TIMEOUT_SECONDS + 5)


def tell_story(stack: LocalStack) -> None:
    redis = Redis.from_url(stack.env["REDIS_URL"])
    sam = SalesPerson(stack.env["DATAVERSE_URL"])
    timeline = Timeline()

    invoice = sam.create("invoices", {
        "name": "Consulting for Contoso, November",
        "customerid_account@odata.bind": f"/accounts({seed.ACCOUNT_IDS[0]})",
        "pricelevelid@odata.bind": f"/pricelevels({seed.PRICE_LIST_ID})",
        "transactioncurrencyid@odata.bind": f"/transactioncurrencies({seed.GBP_CURRENCY_ID})",
        "datedelivered": dt.date.today().isoformat(),
        INVOICE_INVOICE_TYPE: int(InvoiceType.SALES_INVOICE),
    })
    invoice_id = invoice["invoiceid"]
    timeline.say("Dynamics", f"Sam creates invoice {invoice['invoicenumber']} for Contoso Ltd")
    sam.create("invoicedetails", {"invoiceid@odata.bind": f"/invoices({invoice_id})",
                                  "productid@odata.bind": f"/products({seed.PRODUCT_IDS[2]})",
                                  "uomid@odata.bind": f"/uoms({seed.UNIT_ID})", "quantity": 8})
    timeline.say("Dynamics", "Sam adds 8 consulting hours")
    sam.create("invoicedetails", {"invoiceid@odata.bind": f"/invoices({invoice_id})", "isproductoverridden": True,
                                  "productdescription": "Travel", "quantity": 1, "priceperunit": 120})
    timeline.say("Dynamics", "Sam adds a write-in line for travel")
    sam.update("invoices", invoice_id, {
        f"{INVOICE_CONNECTION_NAV}@odata.bind": f"/xc_connections({stack.env['SANDBOX_CONNECTION_ID']})",
    })
    timeline.say("Dynamics", "Sam sets the Xero connection: the invoice is ready for Xero")

    _wait_for_quiet(stack, redis, invoice_id)
    deliveries = requests.get(f"{stack.env['DATAVERSE_URL']}/_sandbox/webhooks/deliveries", timeout=10).json()["value"]
    mine = [d for d in deliveries if d["recordid"] == invoice_id or d["entity"] == "invoicedetail"]
    accepted = sum(1 for d in mine if d["attempts"] and d["attempts"][-1] == 202)
    own = sum(1 for d in mine if d["attempts"] and d["attempts"][-1] == 200)
    timeline.say("Dataverse", f"{len(mine)} webhooks fired for the invoice and its lines: {accepted} accepted "
                              f"as work, {own} ignored (the connector's own write-back)")
    for job in _jobs_for(redis, invoice_id):
        result = job.return_value() or {}
        events = result.get("events", "?")
        timeline.say("connector", f"job {job.id[:22]}… queued ({events} event(s) joined it)",
                     job.enqueued_at.timestamp())
        done = f"job done by {result.get('handler', '?')}: {result.get('outcome', job.get_status())}"
        if result.get("result"):
            done += f" ({result['result']} in Xero)"
        elif result.get("reason"):
            done += f" ({result['reason']})"
        timeline.say("worker", done, job.ended_at.timestamp() if job.ended_at else None)
    timeline.print()
    show_outcome(stack, invoice_id)


def show_outcome(stack: LocalStack, invoice_id: str) -> None:
    """The invoice as Xero holds it, and what came back onto the Dynamics row and its history."""
    connector = requests.Session()
    connector.headers.update({"Authorization": f"Bearer {stack.env['DATAVERSE_TOKEN']}",
                              "Accept": "application/json", "Prefer": 'odata.include-annotations="*"'})
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
        return
    xero = found[0]
    lines = ", ".join(f"{line['Description']} {float(line['Quantity']):g} x {float(line['UnitAmount']):.2f}"
                      for line in xero["LineItems"])
    print(f"In Xero:     invoice {xero['InvoiceNumber']} for {xero['Contact']['Name']}, {xero['Status']}, "
          f"total {float(xero['Total']):.2f} {xero['CurrencyCode']} ({lines})")
    export = ExportStatus(row[schema.INVOICE_EXPORT_STATUS]).name.replace("_", " ").capitalize()
    print(f"In Dynamics: Xero number {row[schema.INVOICE_XERO_NUMBER]}, Xero status {row[schema.INVOICE_XERO_STATUS]},"
          f" export status {export}, amount due {row[schema.INVOICE_AMOUNT_DUE]:.2f}")
    print(f"             link {row[schema.INVOICE_XERO_LINK]}")
    history = connector.get(f"{api}{schema.SYNC_HISTORY_ENTITY_SET}", timeout=10, params={
        "$filter": f"_{schema.SYNC_HISTORY_INVOICE}_value eq {invoice_id}",
        "$orderby": f"{schema.SYNC_HISTORY_OCCURRED_ON} asc"}).json()["value"]
    for entry in history:
        status = entry.get(f"{schema.SYNC_HISTORY_STATUS}@OData.Community.Display.V1.FormattedValue", "")
        print(f"             Sync History: {status} - {entry[schema.SYNC_HISTORY_DETAILS]}", flush=True)


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="connector-demo-") as logs:
        print("Starting the stack (logs in a temporary folder)...", flush=True)
        with LocalStack(log_dir=Path(logs)) as stack:
            print("  " + "\n  ".join(stack.summary) + "\n", flush=True)
            tell_story(stack)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
