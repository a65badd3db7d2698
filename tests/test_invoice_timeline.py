"""The per-invoice record behind the console's timeline: capped, expiring, JSON only, and never in the way."""

from __future__ import annotations

import json

from redis import Redis

from app import invoice_timeline
from app.admin.timeline import webhook_moment, xero_call_moment
from app.embedded_redis import free_port
from app.invoice_timeline import TIMELINE_KEPT, TIMELINE_TTL_SECONDS, entries, record, timeline_key

INVOICE = "7D1F2A5C-8B3E-EF11-8409-000D3A4B7A1C"


def test_the_record_keeps_the_newest_entries_and_expires(redis_conn: Redis) -> None:
    for n in range(TIMELINE_KEPT + 7):
        record(redis_conn, INVOICE, {"kind": "xero", "n": n})

    kept = entries(redis_conn, INVOICE.lower())  # the same invoice, however its id is written
    assert [entry["n"] for entry in kept] == list(range(7, TIMELINE_KEPT + 7))
    assert TIMELINE_TTL_SECONDS - 5 < redis_conn.ttl(timeline_key(INVOICE)) <= TIMELINE_TTL_SECONDS
    # JSON on the wire, and anything else in the list is skipped rather than evaluated.
    assert json.loads(redis_conn.lindex(timeline_key(INVOICE), -1)) == {"kind": "xero", "n": TIMELINE_KEPT + 6}
    redis_conn.rpush(timeline_key(INVOICE), b"\x80\x04not json", b"[1, 2]")
    assert len(entries(redis_conn, INVOICE)) == TIMELINE_KEPT


def test_xero_calls_are_recorded_only_inside_a_job_about_an_invoice(redis_conn: Redis) -> None:
    call = invoice_timeline.xero_call_entry("PUT", "Invoices", status=200, error=None, duration_ms=84)
    invoice_timeline.record_xero_call(redis_conn, call)
    with invoice_timeline.working_on(None):
        invoice_timeline.record_xero_call(redis_conn, call)
    assert redis_conn.keys("connector:timeline:*") == []

    with invoice_timeline.working_on(INVOICE):
        invoice_timeline.record_xero_call(redis_conn, call)
    assert invoice_timeline.current_invoice() is None
    assert [entry["path"] for entry in entries(redis_conn, INVOICE)] == ["Invoices"]


def test_a_lost_record_never_fails_the_xero_call() -> None:
    unreachable = Redis(port=free_port(), socket_connect_timeout=0.5)
    call = invoice_timeline.xero_call_entry("GET", "Invoices", status=None, error="XeroUnavailable", duration_ms=3)
    with invoice_timeline.working_on(INVOICE):
        invoice_timeline.record_xero_call(unreachable, call)  # no exception


def test_entries_read_as_one_line_each() -> None:
    call = {"kind": "xero", "at": 1, "method": "PUT", "path": "Invoices", "status": 200, "duration_ms": 84}
    assert xero_call_moment(call).what == "Xero: PUT Invoices → 200 in 84 ms"
    refused = {**call, "method": "POST", "path": "Invoices/{InvoiceID}", "status": 400, "error": "Permanent"}
    assert xero_call_moment(refused).what == "Xero: POST Invoices/{InvoiceID} → 400 Permanent in 84 ms"
    assert xero_call_moment(refused).outcome == "Failed"
    webhook = {"kind": "webhook", "at": 1, "message": "Update", "table": "invoice", "status": "coalesced"}
    assert webhook_moment(webhook).what == "Dynamics: Update of invoice received → joined the job already waiting"
