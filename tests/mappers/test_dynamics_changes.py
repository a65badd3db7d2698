"""Deciding what a change-tracking row of an invoice asks for (pure)."""

from __future__ import annotations

from datetime import UTC, datetime

from app import dynamics_schema as schema
from app.dynamics_schema import ExportStatus
from mappers.dynamics_changes import content_fingerprint, identity_of, needs_sync

CONNECTION = "7f1d2c3b-0000-4000-8000-000000000001"
XERO_ID = "3B1C8F3E-0000-4000-8000-00000000ABCD"


def row(**changes) -> dict:
    base = {
        "invoiceid": "a1",
        "name": "Consulting",
        "invoicenumber": "INV-1",
        "statecode": 0,
        "modifiedon": "2026-12-01T10:00:00Z",
        f"_{schema.INVOICE_CONNECTION}_value": CONNECTION,
        schema.INVOICE_EXPORT_STATUS: int(ExportStatus.YES),
        schema.INVOICE_XERO_INVOICE_ID: XERO_ID,
        schema.INVOICE_XERO_NUMBER: "INV-1",
        schema.INVOICE_INVOICE_TYPE: 100000000,
    }
    return {**base, **changes}


def test_a_row_whose_content_the_last_sync_saw_needs_nothing():
    synced = row()
    assert not needs_sync(row(), recorded_fingerprint=content_fingerprint(synced))
    # The connector's own write-backs (Xero status, amounts, Paid) leave the content as it was.
    paid = row(statecode=2, **{schema.INVOICE_XERO_NUMBER: "INV-1"})
    assert not needs_sync(paid, recorded_fingerprint=content_fingerprint(synced))


def test_an_edit_a_cancellation_or_an_unknown_past_needs_a_sync():
    recorded = content_fingerprint(row())
    assert needs_sync(row(name="Consulting, December"), recorded_fingerprint=recorded)
    assert needs_sync(row(statecode=3), recorded_fingerprint=recorded)
    assert needs_sync(row(), recorded_fingerprint=None)


def test_waiting_export_statuses_always_sync_and_failed_waits_for_a_person():
    recorded = content_fingerprint(row())
    for waiting in (None, int(ExportStatus.NO), int(ExportStatus.READY_TO_UPDATE)):
        assert needs_sync(row(**{schema.INVOICE_EXPORT_STATUS: waiting}), recorded_fingerprint=recorded)
    failed = row(name="Changed", **{schema.INVOICE_EXPORT_STATUS: int(ExportStatus.FAILED)})
    assert not needs_sync(failed, recorded_fingerprint=recorded)
    assert needs_sync({**failed, "statecode": 3}, recorded_fingerprint=recorded), "a cancellation is always asked"


def test_rows_without_a_connection_and_old_rows_of_a_first_read_are_left():
    assert not needs_sync(row(**{f"_{schema.INVOICE_CONNECTION}_value": None}), recorded_fingerprint=None)
    since = datetime(2026, 12, 1, 11, 0, tzinfo=UTC)
    assert not needs_sync(row(), recorded_fingerprint=None, modified_since=since)
    assert needs_sync(row(modifiedon="2026-12-01T11:30:00Z"), recorded_fingerprint="x", modified_since=since)


def test_the_identity_rebuilds_the_pre_image_a_delete_needs():
    identity = identity_of(row())
    assert identity is not None
    pre_image = identity.pre_image()
    assert pre_image[schema.INVOICE_XERO_INVOICE_ID] == XERO_ID.lower()
    assert pre_image[schema.INVOICE_CONNECTION]["id"] == CONNECTION
    assert pre_image[schema.INVOICE_XERO_NUMBER] == "INV-1"
    assert identity_of(row(**{schema.INVOICE_XERO_INVOICE_ID: None})) is None
