"""A burst of Xero invoice events costs one read of the invoices, not one per event, and never a stale one.

Through sandbox Xero's own webhooks and the real intake, worker and SDK (see linked.py). Xero reads are counted
twice: by spying on the SDK's AccountingApi (which request was made) and by the sandbox's own call counter.
"""

from __future__ import annotations

import math
from typing import Any

from rq import SimpleWorker
from rq.job import Job
from xero_python.accounting import AccountingApi
from xero_python.api_client.serializer import serialize

from app import dynamics_schema as schema
from app.job_serializer import JobSerializer
from app.queue import QUEUE_XERO, xero_resource_scope
from app.services import services_for
from app.xero_invoice_batches import (
    RECEIVED_AT,
    latest_receipt,
    load_snapshot,
    redis_now,
    store_snapshot,
    waiting_key,
)
from sandbox.xero.seed import TENANT_A_ID
from tests.reconciliation.test_reconciliation import reconcile

TENANT = TENANT_A_ID.lower()


def invoice_reads(spy: Any) -> list[list[str]]:
    """The ids asked for by each by-ids read of invoices (other list reads left out)."""
    return [list(call.kwargs["i_ds"]) for call in spy.call_args_list if call.kwargs.get("i_ds")]


def invoice_results(ran: list[Job]) -> dict[str, dict[str, Any]]:
    return {job.args[1]["resource_id"]: job.return_value() for job in ran if job.meta.get("kind") == "xero.invoice"}


def sandbox_calls(linked: Any) -> int:
    return int(linked.harness.xero.calls().get(TENANT_A_ID, {}).get("calls", 0))


def submit_invoice_job(linked: Any, xero_id: str, trigger: dict[str, Any] | None) -> None:
    payload = {
        "tenant_id": TENANT,
        "category": "INVOICE",
        "resource_id": xero_id,
        "connection_id": linked.harness.connection_id,
        "event_type": "UPDATE",
    }
    linked.harness.jobs.submit_coalesced(
        QUEUE_XERO, "xero.invoice", payload, trigger=trigger, scope=xero_resource_scope(TENANT, "INVOICE", xero_id)
    )


def read_from_xero(linked: Any, xero_id: str) -> Any:
    gateway = services_for(linked.harness.redis).xero.get(linked.harness.connection_id, TENANT_A_ID)
    [invoice] = gateway.get_invoices_by_ids([xero_id])
    return invoice


def run_one_xero_job(linked: Any) -> list[str]:
    """Run the first queued Xero job alone; the invoice ids of the jobs that finished meanwhile."""
    registry = linked.harness.jobs.queue(QUEUE_XERO).finished_job_registry
    before = set(registry.get_job_ids())
    SimpleWorker(
        [linked.harness.jobs.queue(QUEUE_XERO)], connection=linked.harness.redis, serializer=JobSerializer
    ).work(burst=True, max_jobs=1)
    done = Job.fetch_many(
        sorted(set(registry.get_job_ids()) - before), connection=linked.harness.redis, serializer=JobSerializer
    )
    return [job.args[1]["resource_id"] for job in done if job]


def test_ten_invoices_paid_at_once_are_read_in_one_or_two_calls(linked, mocker):
    pairs = [linked.both_sides(f"{20 + n}.00") for n in range(10)]
    for _, document in pairs:
        linked.xero_user.pay(document["InvoiceID"], f"{document['AmountDue']:.2f}")
    reads = mocker.spy(AccountingApi, "get_invoices")
    contact_reads = mocker.spy(AccountingApi, "get_contact")
    calls_before = sandbox_calls(linked)  # the payments themselves are the Xero user's calls, not ours

    ran = linked.settle()

    for invoice_id, _ in pairs:
        row = linked.harness.invoice_row(invoice_id)
        assert (row["statecode"], row["statuscode"], row[schema.INVOICE_XERO_STATUS]) == (2, 100001, "PAID")
    results = invoice_results(ran)
    assert set(results) == {document["InvoiceID"].lower() for _, document in pairs}
    assert all(result["result"] == "paid" for result in results.values())
    batches = invoice_reads(reads)
    assert 1 <= len(batches) <= 2, batches
    assert {i.lower() for batch in batches for i in batch} == set(results)
    assert sum(result["fetched_from"] == "snapshot" for result in results.values()) >= 8
    # The sandbox saw the same: the invoice reads and the contact balance reads, nothing else.
    assert sandbox_calls(linked) - calls_before == len(batches) + contact_reads.call_count
    assert linked.harness.redis.scard(waiting_key(TENANT)) == 0


def test_a_snapshot_older_than_the_event_is_not_used(linked, mocker):
    pairs = dict(linked.both_sides("100.00") for _ in range(2))
    for document in pairs.values():
        linked.xero_user.pay(document["InvoiceID"], "10.00")
    assert linked.harness.xero.flush_webhooks()  # two jobs queued, neither run

    [first_xero_id] = run_one_xero_job(linked)
    [other_id] = [i for i, d in pairs.items() if d["InvoiceID"].lower() != first_xero_id]
    other_xero_id = pairs[other_id]["InvoiceID"].lower()
    kept = load_snapshot(linked.harness.redis, TENANT, other_xero_id)
    assert kept is not None and kept[1].amount_paid == 10.0  # read along with the first job's invoice

    # Paid again after that read: the waiting job now has an event the snapshot cannot contain.
    linked.xero_user.pay(other_xero_id, "25.00")
    reads = mocker.spy(AccountingApi, "get_invoices")
    ran = linked.settle()

    result = invoice_results(ran)[other_xero_id]
    assert result["fetched_from"] == "xero"
    assert [other_xero_id] in [[i.lower() for i in batch] for batch in invoice_reads(reads)]
    row = linked.harness.invoice_row(other_id)
    assert (row[schema.INVOICE_AMOUNT_PAID], row[schema.INVOICE_AMOUNT_DUE]) == (35.0, 65.0)


def test_a_snapshot_read_after_every_event_is_used_without_a_xero_call(linked, mocker):
    invoice_id, document = linked.both_sides("40.00")
    xero_id = document["InvoiceID"].lower()
    received = redis_now(linked.harness.redis)
    # A read that started after the event: marked paid here, so its use shows in Dynamics.
    invoice = read_from_xero(linked, xero_id)
    invoice.status, invoice.amount_paid, invoice.amount_due = "PAID", 40.0, 0.0
    assert store_snapshot(linked.harness.redis, TENANT, xero_id, invoice, redis_now(linked.harness.redis))
    submit_invoice_job(linked, xero_id, {RECEIVED_AT: received})
    reads = mocker.spy(AccountingApi, "get_invoices")

    ran = linked.settle()

    assert invoice_results(ran)[xero_id]["fetched_from"] == "snapshot"
    assert invoice_reads(reads) == []
    assert linked.harness.invoice_row(invoice_id)[schema.INVOICE_XERO_STATUS] == "PAID"


def test_a_job_with_an_event_of_unknown_receipt_time_reads_afresh(linked, mocker):
    invoice_id, document = linked.both_sides("40.00")
    xero_id = document["InvoiceID"].lower()
    invoice = read_from_xero(linked, xero_id)
    invoice.status, invoice.amount_paid, invoice.amount_due = "PAID", 40.0, 0.0
    store_snapshot(linked.harness.redis, TENANT, xero_id, invoice, redis_now(linked.harness.redis))
    # Stamped before the snapshot, but a second event (a retry, say) has no receipt time: nothing is proven.
    submit_invoice_job(linked, xero_id, {RECEIVED_AT: redis_now(linked.harness.redis) - 60})
    submit_invoice_job(linked, xero_id, {"retry_of": "an earlier job"})
    reads = mocker.spy(AccountingApi, "get_invoices")

    ran = linked.settle()

    assert invoice_results(ran)[xero_id]["fetched_from"] == "xero"
    assert len(invoice_reads(reads)) == 1
    row = linked.harness.invoice_row(invoice_id)
    assert (row["statecode"], row[schema.INVOICE_XERO_STATUS]) == (0, "AUTHORISED")


def test_payments_found_by_the_reconciliation_are_read_in_batches(linked, mocker):
    pairs = [linked.both_sides("30.00") for _ in range(3)]
    linked.harness.xero.subscribe_webhooks(None)  # Xero stops delivering
    for _, document in pairs:
        linked.xero_user.pay(document["InvoiceID"], "30.00")
    linked.settle()
    reads = mocker.spy(AccountingApi, "get_invoices")

    result, ran = reconcile(linked)

    queued = result["connections"][0]["xero_invoices"]
    assert queued >= 3
    for invoice_id, _ in pairs:
        row = linked.harness.invoice_row(invoice_id)
        assert (row["statecode"], row[schema.INVOICE_XERO_STATUS]) == (2, "PAID")
    results = invoice_results(ran)
    assert len(results) == queued
    assert len(invoice_reads(reads)) == math.ceil(queued / 50)
    assert sum(r["fetched_from"] == "snapshot" for r in results.values()) == queued - math.ceil(queued / 50)


def test_a_snapshot_keeps_the_invoice_as_the_sdk_read_it(linked):
    _, document = linked.both_sides("75.00")
    linked.xero_user.pay(document["InvoiceID"], "25.00")
    linked.settle()
    invoice = read_from_xero(linked, document["InvoiceID"])
    assert invoice.payments and invoice.line_items

    assert store_snapshot(linked.harness.redis, TENANT, document["InvoiceID"], invoice, 2000.0)
    assert not store_snapshot(linked.harness.redis, TENANT, document["InvoiceID"], invoice, 1000.0)  # older
    fetched_at, loaded = load_snapshot(linked.harness.redis, TENANT, document["InvoiceID"])

    assert fetched_at == 2000.0
    assert serialize(loaded) == serialize(invoice)
    assert loaded.amount_paid == 25.0 and loaded.date == invoice.date


def test_the_newest_receipt_counts_and_an_unstamped_event_proves_nothing():
    assert latest_receipt([{RECEIVED_AT: 5.0}, {RECEIVED_AT: 7.5}, {RECEIVED_AT: 6}]) == 7.5
    assert latest_receipt([{RECEIVED_AT: 5.0}, {"retry_of": "job"}]) is None
    assert latest_receipt([]) is None
