"""The reconciliation recovers changes whose webhooks were lost, on each side, and keeps its checkpoint honest."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, date, datetime

import requests

from app import dynamics_schema as schema
from app.dispatch import HANDLERS
from app.dynamics_schema import ExportStatus
from app.queue import QUEUE_MAINTENANCE, pending_key, xero_resource_scope
from app.reconciliation import advance_checkpoint, load_checkpoint
from app.schedule import PERIODIC, periodic_scope
from handlers import reconciliation
from sandbox.dataverse.seed import ACCOUNT_IDS, PRICE_LIST_ID, PRODUCT_IDS, UNIT_ID
from sandbox.xero.seed import TENANT_A_ID
from tests.xero_to_dynamics.linked import WEBHOOK_KEY

# Skips the asynchronous steps (our webhooks) for this write: the Dataverse webhook is "lost".
NO_WEBHOOKS = {"MSCRM.BypassBusinessLogicExecution": "CustomAsync", "Prefer": "return=representation"}


def reconcile(linked):
    job = linked.harness.jobs.submit_coalesced(
        QUEUE_MAINTENANCE, "reconcile", {}, scope=periodic_scope("reconcile"), trigger={"scheduled": "reconcile"}
    )
    ran = linked.harness.drain()
    [result] = [j.return_value() for j in ran if j.id == job.job_id]
    return result, ran


def test_a_payment_made_while_xero_webhooks_are_down_is_recovered(linked):
    invoice_id, document = linked.both_sides("90.00")
    linked.harness.xero.subscribe_webhooks(None)  # Xero stops delivering
    linked.xero_user.pay(document["InvoiceID"], "90.00")
    linked.settle()
    assert linked.harness.invoice_row(invoice_id)["statecode"] == 0, "no webhook, no change yet"

    result, ran = reconcile(linked)

    [connection_pass] = result["connections"]
    assert connection_pass["connection_id"] == linked.harness.connection_id
    assert connection_pass["xero_invoices"] >= 1
    recovered = [j.return_value() for j in ran if j.meta.get("kind") == "xero.invoice"]
    assert any(r.get("result") == "paid" for r in recovered)
    row = linked.harness.invoice_row(invoice_id)
    assert (row["statecode"], row["statuscode"], row[schema.INVOICE_XERO_STATUS]) == (2, 100001, "PAID")
    checkpoint = load_checkpoint(linked.harness.redis, linked.harness.connection_id)
    assert checkpoint is not None
    assert checkpoint.isoformat() == connection_pass["until"]


def test_an_invoice_whose_dataverse_webhook_was_lost_is_synced(linked):
    person = linked.harness.connector.session
    created = person.post(
        linked.harness.connector.api_url + "invoices",
        headers=NO_WEBHOOKS,
        timeout=10,
        json={
            "name": "Written while the webhook steps were skipped",
            "customerid_account@odata.bind": f"/accounts({ACCOUNT_IDS[0]})",
            "pricelevelid@odata.bind": f"/pricelevels({PRICE_LIST_ID})",
            "datedelivered": date.today().isoformat(),
            schema.INVOICE_EXPORT_STATUS: int(ExportStatus.NO),
            **schema.bind(schema.lookup("invoice", schema.INVOICE_CONNECTION), linked.harness.connection_id),
        },
    )
    assert created.status_code == 201, created.text
    invoice_id = created.json()["invoiceid"]
    line = person.post(
        linked.harness.connector.api_url + "invoicedetails",
        headers=NO_WEBHOOKS,
        timeout=10,
        json={
            "invoiceid@odata.bind": f"/invoices({invoice_id})",
            "productid@odata.bind": f"/products({PRODUCT_IDS[0]})",
            "uomid@odata.bind": f"/uoms({UNIT_ID})",
            "quantity": 2,
        },
    )
    assert line.status_code == 201, line.text
    assert linked.settle() == [], "nothing reached the connector"

    result, ran = reconcile(linked)

    assert result["connections"][0]["dynamics_invoices"] == 1
    [sync] = [j for j in ran if j.meta.get("kind") == "invoice.sync"]
    assert sync.args[1]["invoice_id"] == invoice_id
    assert sync.meta["coalesce_scope"] == f"invoice:{sync.args[1]['organization_id']}:{invoice_id}"
    row = linked.harness.invoice_row(invoice_id)
    assert row[schema.INVOICE_EXPORT_STATUS] == ExportStatus.YES
    assert row[schema.INVOICE_XERO_INVOICE_ID]


def test_the_checkpoint_stays_put_when_a_pass_fails_and_moves_when_it_succeeds(linked):
    linked.harness.xero.set_faults(error_rate=1.0, error_status=503)
    try:
        result, _ = reconcile(linked)
    finally:
        linked.harness.xero.set_faults(error_rate=0.0)
    assert "error" in result["connections"][0]
    assert load_checkpoint(linked.harness.redis, linked.harness.connection_id) is None

    before = datetime.now(UTC)
    result, _ = reconcile(linked)
    assert "error" not in result["connections"][0]
    checkpoint = load_checkpoint(linked.harness.redis, linked.harness.connection_id)
    assert checkpoint is not None and checkpoint >= before.replace(microsecond=0)

    # The next pass starts from the checkpoint less the overlap (RECONCILE_OVERLAP_SECONDS, 120 by default).
    result, _ = reconcile(linked)
    since = datetime.fromisoformat(result["connections"][0]["since"])
    assert (checkpoint - since).total_seconds() == 120


def test_a_webhook_and_the_reconciliation_share_one_job_per_invoice(linked):
    resource = "5b1c8f3e-0000-4000-8000-00000000abcd"
    body = json.dumps(
        {
            "events": [
                {
                    "resourceUrl": f"https://api.xero.com/api.xro/2.0/Invoices/{resource}",
                    "resourceId": resource,
                    "eventDateUtc": "2026-11-22T08:00:20.83",
                    "eventType": "UPDATE",
                    "eventCategory": "INVOICE",
                    "tenantId": TENANT_A_ID,
                    "tenantType": "ORGANISATION",
                }
            ],
            "firstEventSequence": 1,
            "lastEventSequence": 1,
            "entropy": "ABCDEF",
        },
        indent=2,
    ).encode()
    signature = base64.b64encode(hmac.new(WEBHOOK_KEY.encode(), body, hashlib.sha256).digest()).decode()
    answer = requests.post(linked.webhook_url, data=body, headers={"x-xero-signature": signature}, timeout=10)
    assert answer.status_code == 200

    # The intake's pending job is found under the scope the reconciliation submits to: they coalesce.
    assert linked.harness.redis.get(pending_key(xero_resource_scope(TENANT_A_ID, "INVOICE", resource)))


def test_reconciliation_is_scheduled_and_routed():
    [entry] = [p for p in PERIODIC if p.kind == "reconcile"]
    assert entry.interval_seconds == 300
    assert entry.queue == QUEUE_MAINTENANCE
    assert HANDLERS["reconcile"] == "handlers.reconciliation"


def test_a_read_cut_short_by_the_page_limit_queues_what_it_read_but_keeps_the_checkpoint(linked, monkeypatch):
    linked.both_sides("15.00")
    monkeypatch.setattr(reconciliation, "MAX_LOOKUP_PAGES", 1)
    monkeypatch.setattr(reconciliation, "PAGE_SIZE", 1)  # one invoice fills the "last" page the gateway reads

    result, ran = reconcile(linked)

    assert "Too many Xero changes" in result["connections"][0]["error"]
    assert [j.meta["kind"] for j in ran if j.meta["kind"] == "xero.invoice"], "what was read is still queued"
    assert load_checkpoint(linked.harness.redis, linked.harness.connection_id) is None


def test_the_checkpoint_never_moves_back(redis_conn):
    later = datetime(2026, 11, 22, 8, 5, tzinfo=UTC)
    assert advance_checkpoint(redis_conn, "conn-1", later)
    assert not advance_checkpoint(redis_conn, "conn-1", later.replace(minute=1))
    assert load_checkpoint(redis_conn, "CONN-1") == later
