"""Dynamics changes whose webhooks were lost, found by the reconciliation through Dataverse change tracking:
edits of invoices already in Xero, cancellations, deletes and invoices whose delivery day has come."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from app import dynamics_schema as schema
from app.clients.dataverse import DataverseClient
from app.clients.dataverse_errors import DataverseUnavailable
from app.dynamics_schema import ExportStatus
from app.queue import QUEUE_MAINTENANCE
from app.schedule import periodic_scope
from handlers import invoice_sync, reconciliation


def reconcile(harness) -> dict:
    job = harness.jobs.submit_coalesced(
        QUEUE_MAINTENANCE, "reconcile", {}, scope=periodic_scope("reconcile"), trigger={"scheduled": "reconcile"}
    )
    ran = harness.drain()
    [result] = [j.return_value() for j in ran if j.id == job.job_id]
    return result


@contextmanager
def webhooks_lost(harness) -> Iterator[None]:
    """Every Dataverse webhook of what happens inside is lost on the way (the sandbox's fault control)."""
    dispatcher = harness.dataverse.sandbox.dispatcher
    dispatcher.set_faults(1.0)
    try:
        yield
        assert harness.dataverse.wait_for_webhooks(30)
    finally:
        dispatcher.set_faults(0.0)
    assert harness.drain() == [], "nothing reached the connector"


def synced_invoice(harness) -> tuple[str, str]:
    invoice_id = harness.new_invoice()
    harness.drain()
    row = harness.invoice_row(invoice_id)
    assert row[schema.INVOICE_EXPORT_STATUS] == ExportStatus.YES
    return invoice_id, row["invoicenumber"]


def test_an_edit_of_an_invoice_already_in_xero_whose_webhook_was_lost_reaches_xero(harness):
    invoice_id, number = synced_invoice(harness)
    assert reconcile(harness)["dynamics"]["first_read"] is True
    [before] = harness.xero_invoices(number)

    with webhooks_lost(harness):
        harness.new_line(invoice_id, quantity=10)

    found = reconcile(harness)["dynamics"]
    assert found["first_read"] is False and found["lines_changed"] == 1
    [after] = harness.xero_invoices(number)
    total = Decimal(str(harness.invoice_row(invoice_id)["totalamount"]))
    assert Decimal(str(after["Total"])) == total != Decimal(str(before["Total"]))


def test_the_connectors_own_write_backs_queue_nothing(harness):
    invoice_id, _ = synced_invoice(harness)
    reconcile(harness)
    harness.new_line(invoice_id)  # webhooks work: synced at once, and the connector writes back
    harness.drain()

    found = reconcile(harness)["dynamics"]

    assert (found["invoices_synced"], found["lines_changed"], found["invoices_deleted"]) == (0, 0, 0)


def test_a_cancellation_whose_webhook_was_lost_is_carried_out(harness):
    invoice_id, number = synced_invoice(harness)
    reconcile(harness)

    with webhooks_lost(harness):
        harness.person.update("invoices", invoice_id, {"statecode": 3})

    reconcile(harness)
    assert harness.xero_invoices(number)[0]["Status"] == "DELETED"
    assert harness.history(invoice_id)[-1][schema.SYNC_HISTORY_ACTION] == schema.SyncAction.DELETE


def test_a_delete_whose_webhook_was_lost_is_carried_out_from_what_was_remembered(harness):
    invoice_id, number = synced_invoice(harness)
    reconcile(harness)

    with webhooks_lost(harness):
        harness.person.delete("invoices", invoice_id)

    found = reconcile(harness)["dynamics"]
    assert found["invoices_deleted"] == 1
    assert harness.xero_invoices(number)[0]["Status"] == "DELETED"
    told = [h for h in harness.history() if f"(id {invoice_id}) was deleted" in h[schema.SYNC_HISTORY_DETAILS]]
    assert len(told) == 1
    assert reconcile(harness)["dynamics"]["invoices_deleted"] == 0, "a delete is carried out once"


class _Tomorrow(datetime):
    @classmethod
    def now(cls, tz=None):  # type: ignore[override]
        return datetime.now(tz or UTC) + timedelta(days=1)


def test_a_future_dated_invoice_is_sent_on_its_day_even_when_redis_lost_its_job(harness, monkeypatch):
    invoice_id = harness.new_invoice(delivered=date.today() + timedelta(days=1))
    harness.drain()
    [waiting] = harness.scheduled()
    waiting.delete()  # Redis lost the job scheduled for the day
    assert harness.scheduled() == []

    monkeypatch.setattr(reconciliation, "datetime", _Tomorrow)  # the day has come
    monkeypatch.setattr(invoice_sync, "datetime", _Tomorrow)
    result = reconcile(harness)

    assert result["connections"][0]["dynamics_invoices"] == 1
    row = harness.invoice_row(invoice_id)
    assert row[schema.INVOICE_EXPORT_STATUS] == ExportStatus.YES
    assert harness.xero_invoices(row["invoicenumber"])


@pytest.mark.parametrize("lost", ["delta link", "everything"])
def test_a_lost_delta_link_starts_afresh_and_still_finds_recent_changes(harness, lost):
    invoice_id, number = synced_invoice(harness)
    reconcile(harness)
    with webhooks_lost(harness):
        harness.new_line(invoice_id, quantity=7)
    if lost == "everything":
        tokens = harness.token_store.load(harness.connection_id)
        harness.redis.flushdb()  # (the token's copy in Dynamics has its own test: put it back by hand here)
        harness.token_store.save(harness.connection_id, tokens)
    else:
        for key in harness.redis.scan_iter("connector:reconcile:delta:*"):
            harness.redis.delete(key)

    found = reconcile(harness)["dynamics"]

    assert found["first_read"] is True and found["invoices_synced"] >= 1
    total = Decimal(str(harness.invoice_row(invoice_id)["totalamount"]))
    assert Decimal(str(harness.xero_invoices(number)[0]["Total"])) == total


def test_dynamics_unreachable_still_lets_the_xero_side_run_and_the_same_changes_are_read_next_time(
    harness, monkeypatch
):
    invoice_id, number = synced_invoice(harness)
    reconcile(harness)
    with webhooks_lost(harness):
        harness.new_line(invoice_id, quantity=5)

    def down(self, *args, **kwargs):
        raise DataverseUnavailable("Dataverse is down")

    with monkeypatch.context() as patched:
        patched.setattr(DataverseClient, "changes", down)
        result = reconcile(harness)
    assert "error" in result["dynamics"] and "error" not in result["connections"][0]

    assert reconcile(harness)["dynamics"]["lines_changed"] == 1
    total = Decimal(str(harness.invoice_row(invoice_id)["totalamount"]))
    assert Decimal(str(harness.xero_invoices(number)[0]["Total"])) == total
