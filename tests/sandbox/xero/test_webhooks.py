"""Outgoing webhooks: intent to receive, signed pretty-printed batches, categories, retries and the log."""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Callable

import pytest
import requests
from xero_python.accounting import Account, Contact, Contacts, CreditNotes, Invoice, Invoices, Payment, Payments

from sandbox.xero import RunningSandbox, Settings
from sandbox.xero.admin_client import SandboxAdmin
from sandbox.xero.sdk import SdkClient
from tests.plugins.sandbox_xero import admin_for
from tests.sandbox.xero.builders import FINANCE_SCOPES, credit_note, invoice
from tests.sandbox.xero.receiver import running_receiver

KEY = "test-webhook-key-0123456789"
EVENT_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?$")


@pytest.fixture
def xero_client(xero_sdk: Callable[..., SdkClient]) -> SdkClient:
    return xero_sdk(scopes=FINANCE_SCOPES)


def test_intent_to_receive_activates_a_correct_receiver(xero_admin: SandboxAdmin) -> None:
    with running_receiver(KEY) as receiver:
        outcome = xero_admin.subscribe_webhooks(receiver.url, KEY)
    assert outcome["status"] == "ACTIVE"
    assert sorted(e["expected"] for e in outcome["intentLog"]) == [200, 200, 401, 401]
    assert receiver.verdicts.count(True) == 2 and receiver.verdicts.count(False) == 2
    assert all(b'"events": []' in body for body in receiver.bodies)


def test_intent_to_receive_fails_a_receiver_that_accepts_everything(
    xero_admin: SandboxAdmin, xero_client: SdkClient
) -> None:
    with running_receiver(KEY, mode="always-200") as receiver:
        outcome = xero_admin.subscribe_webhooks(receiver.url, KEY)
        xero_client.accounting.create_invoices(xero_client.tenant_id, Invoices(invoices=[invoice()]))
        assert xero_admin.flush_webhooks()
    assert outcome["status"] == "INTENT_FAILED"
    assert len(receiver.bodies) == 4  # only the probes: an inactive subscription gets no events
    assert xero_admin.webhooks()["deliveries"] == []


def test_signed_batched_events_for_invoices_contacts_and_payments(
    xero_admin: SandboxAdmin, xero_client: SdkClient
) -> None:
    with running_receiver(KEY) as receiver:
        assert xero_admin.subscribe_webhooks(receiver.url, KEY)["status"] == "ACTIVE"
        new_contact = Invoice(
            type="ACCREC",
            contact=Contact(name="Webhook Customer Ltd"),
            date=dt.date(2026, 1, 1),
            due_date=dt.date(2026, 1, 31),
            status="AUTHORISED",
            line_items=invoice().line_items,
        )
        created = xero_client.accounting.create_invoices(
            xero_client.tenant_id, Invoices(invoices=[invoice(), new_contact])
        ).invoices
        assert xero_admin.flush_webhooks()
        payment = Payment(invoice=Invoice(invoice_id=created[0].invoice_id), account=Account(code="090"), amount=10)
        xero_client.accounting.create_payments(xero_client.tenant_id, Payments(payments=[payment]))
        assert xero_admin.flush_webhooks()

    batches = receiver.event_batches()
    assert len(batches) == 2
    first, second = batches
    raw_first = next(b for b, ok in zip(receiver.bodies, receiver.verdicts, strict=True) if ok and b"INVOICE" in b)
    assert raw_first.startswith(b"{\n  ")  # pretty-printed, signature computed over exactly these bytes
    kinds = sorted((e["eventCategory"], e["eventType"]) for e in first["events"])
    assert kinds == [("CONTACT", "CREATE"), ("INVOICE", "CREATE"), ("INVOICE", "CREATE")]
    assert first["firstEventSequence"] == 1 and first["lastEventSequence"] == 3
    assert second["firstEventSequence"] == 4
    assert [(e["eventCategory"], e["eventType"], e["resourceId"]) for e in second["events"]] == [
        ("INVOICE", "UPDATE", created[0].invoice_id)
    ]
    for event in first["events"] + second["events"]:
        assert event["tenantId"] == xero_client.tenant_id and event["tenantType"] == "ORGANISATION"
        assert EVENT_DATE.match(event["eventDateUtc"]), event["eventDateUtc"]
        assert event["resourceUrl"].endswith(event["resourceId"])
        assert set(event) == {
            "resourceUrl",
            "resourceId",
            "eventDateUtc",
            "eventType",
            "eventCategory",
            "tenantId",
            "tenantType",
        }
    assert first["entropy"] and first["entropy"] != second["entropy"]


def test_credit_note_events_carry_type_and_status(xero_admin: SandboxAdmin, xero_client: SdkClient) -> None:
    with running_receiver(KEY) as receiver:
        xero_admin.subscribe_webhooks(receiver.url, KEY)
        xero_client.accounting.create_credit_notes(
            xero_client.tenant_id, CreditNotes(credit_notes=[credit_note(status="DRAFT")])
        )
        assert xero_admin.flush_webhooks()
    (batch,) = receiver.event_batches()
    (event,) = batch["events"]
    assert event["eventCategory"] == "CREDITNOTE"
    assert event["data"] == {"Type": "ACCRECCREDIT", "Status": "DRAFT"}


def test_contact_update_event_and_no_event_for_reads(xero_admin: SandboxAdmin, xero_client: SdkClient) -> None:
    with running_receiver(KEY) as receiver:
        xero_admin.subscribe_webhooks(receiver.url, KEY)
        contacts = xero_client.accounting.get_contacts(xero_client.tenant_id).contacts
        change = Contact(contact_id=contacts[0].contact_id, email_address="new@acme.example")
        xero_client.accounting.update_contact(xero_client.tenant_id, change.contact_id, Contacts(contacts=[change]))
        assert xero_admin.flush_webhooks()
    (batch,) = receiver.event_batches()
    assert [(e["eventCategory"], e["eventType"]) for e in batch["events"]] == [("CONTACT", "UPDATE")]


def test_failed_deliveries_are_retried_a_few_times_then_logged(
    xero_admin: SandboxAdmin, xero_client: SdkClient
) -> None:
    with running_receiver(KEY) as receiver:
        assert xero_admin.subscribe_webhooks(receiver.url, KEY)["status"] == "ACTIVE"
        receiver.mode = "always-500"
        xero_client.accounting.create_invoices(xero_client.tenant_id, Invoices(invoices=[invoice()]))
        assert xero_admin.flush_webhooks()
    (delivery,) = xero_admin.webhooks()["deliveries"]
    assert delivery["delivered"] is False
    assert [a["status"] for a in delivery["attempts"]] == [500, 500, 500]
    assert len(receiver.bodies) == 4 + 3
    assert len(set(receiver.bodies[4:])) == 1  # a retry re-sends the same signed bytes


def test_webhook_url_from_settings_subscribes_at_start(xero_sandbox_factory: Callable[..., RunningSandbox]) -> None:
    with running_receiver(KEY) as receiver:
        sandbox = xero_sandbox_factory(Settings(webhook_url=receiver.url, webhook_key=KEY))
        admin = admin_for(sandbox)
        status = "NONE"
        for _ in range(100):
            status = admin.webhooks()["status"]
            if status == "ACTIVE":
                break
            time.sleep(0.02)
        admin.close()
    assert status == "ACTIVE"
    assert receiver.verdicts.count(True) == 2


def test_only_the_subscribed_categories_are_sent(xero_admin: SandboxAdmin, xero_client: SdkClient) -> None:
    with running_receiver(KEY) as receiver:
        outcome = xero_admin.subscribe_webhooks(receiver.url, KEY, categories=["INVOICE"])
        assert outcome["status"] == "ACTIVE" and outcome["categories"] == ["INVOICE"]
        xero_client.accounting.create_credit_notes(
            xero_client.tenant_id, CreditNotes(credit_notes=[credit_note(status="DRAFT")])
        )
        xero_client.accounting.create_invoices(xero_client.tenant_id, Invoices(invoices=[invoice()]))
        assert xero_admin.flush_webhooks()
    assert {e["eventCategory"] for b in receiver.event_batches() for e in b["events"]} == {"INVOICE"}


def test_an_unknown_category_is_refused_and_dropped_events_are_never_sent(
    xero_admin: SandboxAdmin, xero_client: SdkClient
) -> None:
    with pytest.raises(requests.HTTPError):
        xero_admin.subscribe_webhooks("http://127.0.0.1:9/", KEY, categories=["PAYMENT"])
    with running_receiver(KEY) as receiver:
        xero_admin.subscribe_webhooks(receiver.url, KEY)
        xero_admin.drop_webhooks(1.0)
        xero_client.accounting.create_invoices(xero_client.tenant_id, Invoices(invoices=[invoice()]))
        assert xero_admin.flush_webhooks()
    assert receiver.event_batches() == []
