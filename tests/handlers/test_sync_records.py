"""The exactly-once records in Redis, and the worker's services built from the environment."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from app.errors import Permanent
from app.services import forget_services, services_for
from app.sync_records import SyncRecords

ORG, INVOICE = "org-1", "7D1F2A5C-8B3E-EF11-8409-000D3A4B7A1C"


def test_a_begun_create_without_an_id_is_an_unknown_outcome_until_the_id_is_recorded(redis_conn):
    records = SyncRecords(redis_conn)
    assert not records.document(ORG, INVOICE).create_outcome_unknown
    records.begin_create(ORG, INVOICE)
    first = records.document(ORG, INVOICE).create_started_at
    records.begin_create(ORG, INVOICE)  # a retry keeps the first start: the lookup must reach back to it
    record = records.document(ORG, INVOICE)
    assert record.create_outcome_unknown and record.create_started_at == first

    records.record_document(ORG, INVOICE.lower(), "xero-1")
    record = records.document(ORG, INVOICE)
    assert record.xero_id == "xero-1" and not record.create_outcome_unknown
    assert redis_conn.ttl(SyncRecords.invoice_key(ORG, INVOICE)) > 0, "records expire"


def test_credit_notes_lines_cancellation_and_news_are_remembered_per_invoice(redis_conn):
    records = SyncRecords(redis_conn)
    records.begin_credit(ORG, INVOICE)
    assert records.document(ORG, INVOICE).credit_outcome_unknown
    records.record_credit(ORG, INVOICE, "cn-1")
    assert records.document(ORG, INVOICE).credit_note_id == "cn-1"

    records.remember_lines(ORG, INVOICE, ["line-a", "line-b"])
    assert records.invoice_for_line(ORG, "LINE-B") == INVOICE
    assert records.invoice_for_line("other-org", "line-b") is None

    assert not records.is_cancelled(ORG, INVOICE)
    records.mark_cancelled(ORG, INVOICE)
    assert records.is_cancelled(ORG, INVOICE)
    records.clear_cancelled(ORG, INVOICE)
    assert not records.is_cancelled(ORG, INVOICE)

    assert records.news(ORG, INVOICE, "no price list")
    assert not records.news(ORG, INVOICE, "no price list")
    assert records.news(ORG, INVOICE, "no products")
    records.forget_news(ORG, INVOICE)
    assert records.news(ORG, INVOICE, "no products")


def test_a_worker_connected_to_nothing_has_no_services(redis_conn):
    forget_services()
    assert services_for(redis_conn, {}) is None


def test_half_a_configuration_is_an_error_naming_what_is_missing(redis_conn):
    forget_services()
    with pytest.raises(Permanent) as error:
        services_for(redis_conn, {"DATAVERSE_URL": "http://127.0.0.1:9", "DATAVERSE_TOKEN": "t"})
    assert "XERO_CLIENT_ID is required" in str(error.value)
    assert "TOKEN_ENCRYPTION_KEYS is required" in str(error.value)


def test_services_are_built_once_per_process(redis_conn):
    forget_services()
    env = {
        "DATAVERSE_URL": "http://127.0.0.1:9",
        "DATAVERSE_TOKEN": "t",
        "XERO_CLIENT_ID": "id",
        "XERO_CLIENT_SECRET": "secret",
        "TOKEN_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
    }
    try:
        first = services_for(redis_conn, env)
        assert first is not None and first.org_url == "http://127.0.0.1:9"
        assert services_for(redis_conn, env) is first
    finally:
        forget_services()
