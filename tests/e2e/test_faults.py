"""Faults from the sandbox Xero: each ends with exactly one document in Xero and the truth in Dynamics."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from zoneinfo import ZoneInfo

from rq.registry import StartedJobRegistry

from app import dynamics_schema as schema
from app.clients.xero_tokens import TokenSet
from app.dynamics_schema import ConnectionStatus, ExportStatus, SyncStatus
from app.job_serializer import JobSerializer
from app.queue import QUEUE_DATAVERSE, invoice_scope, lock_key
from app.sync_records import SyncRecords
from sandbox.dataverse.seed import ACCOUNT_IDS, ORGANIZATION_ID
from sandbox.xero.seed import TENANT_A_ID, seeded_id
from tests.helpers import kill_worker

ROOT = Path(__file__).resolve().parents[2]
ACME = seeded_id(TENANT_A_ID, "contact", "Acme Corporation")


def link_customer_to_acme(harness) -> None:
    """The customer is already linked to a Xero contact, so the invoice is the first thing written to Xero."""
    harness.connector.update("accounts", ACCOUNT_IDS[2], {schema.CUSTOMER_XERO_CONTACT_ID: ACME})


def assert_synced_once(harness, invoice_id: str) -> dict:
    row = harness.invoice_row(invoice_id)
    found = harness.xero_invoices(row["invoicenumber"])
    assert len(found) == 1, found
    assert row[schema.INVOICE_XERO_INVOICE_ID] == found[0]["InvoiceID"]
    assert row[schema.INVOICE_EXPORT_STATUS] == ExportStatus.YES
    return found[0]


def outcomes(harness) -> list[str]:
    return [r.get("outcome", "") for r in harness.results()]


def test_a_500_from_xero_is_retried_and_then_succeeds(harness):
    harness.xero.set_faults(fail_next=1, error_status=500)
    invoice_id = harness.new_invoice()
    harness.drain()
    assert outcomes(harness) == ["retry_scheduled"]
    assert harness.invoice_row(invoice_id)[schema.INVOICE_XERO_INVOICE_ID] is None

    [retrying] = harness.history(invoice_id)
    assert retrying[schema.SYNC_HISTORY_STATUS] == SyncStatus.INFORMATION
    assert retrying[schema.SYNC_HISTORY_DETAILS].startswith("Xero is unavailable; retrying at ")
    [retry] = harness.scheduled()
    when = harness.jobs.queue(QUEUE_DATAVERSE).scheduled_job_registry.get_scheduled_time(retry.id)
    local = when.astimezone(ZoneInfo("Europe/London"))  # the connection's time zone in the harness
    assert f"{local:%Y-%m-%d %H:%M:%S}" in retrying[schema.SYNC_HISTORY_DETAILS], "the time the retry will run"

    harness.run_due_now()
    assert outcomes(harness) == ["retry_scheduled", "done"]
    assert_synced_once(harness, invoice_id)
    statuses = [h[schema.SYNC_HISTORY_STATUS] for h in harness.history(invoice_id)]
    assert statuses == [SyncStatus.INFORMATION, SyncStatus.SUCCESS]


def test_a_429_is_retried_after_the_retry_after_xero_asked_for(harness):
    harness.xero.set_faults(rate_limit_next=1)
    invoice_id = harness.new_invoice()
    harness.drain()
    [first] = harness.results()
    assert first["outcome"] == "retry_scheduled"
    [retry] = harness.scheduled()
    assert retry.args[1]["attempt"] == 2

    harness.run_due_now()
    assert_synced_once(harness, invoice_id)


def test_an_answer_lost_after_xero_committed_the_invoice_does_not_create_a_second_one(harness):
    link_customer_to_acme(harness)
    harness.xero.set_faults(drop_next=1)
    invoice_id = harness.new_invoice(account=ACCOUNT_IDS[2])
    harness.drain()
    assert outcomes(harness) == ["retry_scheduled"]
    number = harness.invoice_row(invoice_id)["invoicenumber"]
    assert len(harness.xero_invoices(number)) == 1, "Xero committed the invoice whose answer was lost"

    harness.run_due_now()
    xero_invoice = assert_synced_once(harness, invoice_id)
    assert xero_invoice["Contact"]["ContactID"] == ACME
    assert harness.results()[-1]["recovered"] is True, "found by its number, not created again"


def test_a_worker_killed_mid_create_leaves_one_invoice_and_the_job_completes_after_restart(harness, tmp_path):
    link_customer_to_acme(harness)
    invoice_id = harness.new_invoice(account=ACCOUNT_IDS[2])
    assert harness.dataverse.wait_for_webhooks(30)
    harness.xero.set_faults(latency_ms=1500)
    records = SyncRecords(harness.redis)

    with (tmp_path / "worker.log").open("wb") as log:
        worker = subprocess.Popen(
            [sys.executable, "-m", "app.worker", "--queues", QUEUE_DATAVERSE],
            cwd=ROOT,
            env=dict(os.environ),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + 30
            while not records.document(ORGANIZATION_ID, invoice_id).create_outcome_unknown:
                assert time.monotonic() < deadline, (tmp_path / "worker.log").read_text()[-3000:]
                time.sleep(0.05)
            time.sleep(0.3)  # the create is on its way to Xero
        finally:
            kill_worker(worker)

    number = harness.invoice_row(invoice_id)["invoicenumber"]
    deadline = time.monotonic() + 10
    while not harness.xero_invoices(number):
        assert time.monotonic() < deadline, "the sandbox finished the create after the caller died"
        time.sleep(0.1)
    harness.xero.set_faults(latency_ms=0)
    assert harness.invoice_row(invoice_id)[schema.INVOICE_XERO_INVOICE_ID] is None

    # Time passes: the dead job's invoice lock expires and RQ finds the job abandoned and retries it.
    harness.redis.delete(lock_key(invoice_scope(ORGANIZATION_ID, invoice_id)))
    StartedJobRegistry(QUEUE_DATAVERSE, connection=harness.redis, serializer=JobSerializer).cleanup(
        timestamp=time.time() + 3600
    )
    harness.run_due_now()

    assert_synced_once(harness, invoice_id)
    assert outcomes(harness)[-1] == "done"
    assert harness.results()[-1]["recovered"] is True, "found by its number, not created again"


def test_an_expired_refresh_token_marks_the_connection_reconnect_xero(harness):
    stored = harness.token_store.load(harness.connection_id)
    harness.token_store.save(
        harness.connection_id, TokenSet(stored.access_token, stored.refresh_token, time.time() - 60, stored.scope)
    )
    harness.xero.advance_clock(61 * 24 * 3600)  # past the refresh token's 60 days
    invoice_id = harness.new_invoice()
    harness.drain()

    connection = harness.connector.get(schema.CONNECTION_ENTITY_SET, harness.connection_id)
    assert connection[schema.CONNECTION_STATUS] == ConnectionStatus.RECONNECT_XERO
    assert "Reconnect Xero" in connection[schema.CONNECTION_STATUS_MESSAGE]
    assert harness.invoice_row(invoice_id)[schema.INVOICE_EXPORT_STATUS] == ExportStatus.FAILED
    [history] = harness.history(invoice_id)
    assert history[schema.SYNC_HISTORY_STATUS] == SyncStatus.FAILED
    assert "Reconnect Xero" in history[schema.SYNC_HISTORY_DETAILS]
    assert [job.args[1]["invoice_id"] for job in harness.failed()] == [invoice_id]
