"""What goes back into Dynamics (mappers/writeback.py), one test per rule."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from xero_python.accounting import ValidationError

from app import dynamics_schema as schema
from app.dynamics_schema import ExportStatus, SyncAction, SyncStatus
from mappers.dynamics import CustomerKind, CustomerRef
from mappers.writeback import (
    customer_contact_patch,
    document_validation_messages,
    failure_details,
    history_row,
    invoice_failure_patch,
    invoice_status_patch,
    invoice_success_patch,
    line_value_patches,
    success_details,
    validation_messages,
    xero_link,
)
from tests.mappers.helpers import XERO_INVOICE_ID, connection, invoice, xero_credit_note, xero_invoice

NOW = datetime(2026, 11, 20, 14, 57, 22, tzinfo=UTC)
INVOICE_ID = "9d3a6b1e-2f4c-4e8a-b7d5-1a2b3c4d5e01"
CONNECTION_ID = "7e1f0c2a-5b7d-4c1e-9a61-0c0ffee00001"


def test_success_patch_carries_xero_id_number_status_link_amounts_and_export_status():
    patch = invoice_success_patch(INVOICE_ID, xero_invoice("AUTHORISED", paid="37.40"), connection(), exported_at=NOW)
    assert (patch.entity_set, patch.row_id) == ("invoices", INVOICE_ID)
    body = patch.body
    assert body[schema.INVOICE_XERO_INVOICE_ID] == XERO_INVOICE_ID
    assert body[schema.INVOICE_XERO_NUMBER] == "INV-01001-K7Q2ZP"
    assert body[schema.INVOICE_XERO_STATUS] == "AUTHORISED"
    assert body[schema.INVOICE_EXPORT_STATUS] == ExportStatus.YES
    assert body[schema.INVOICE_EXPORT_DATE] == "2026-11-20T14:57:22Z"
    assert (
        body[schema.INVOICE_AMOUNT_DUE],
        body[schema.INVOICE_AMOUNT_PAID],
        body[schema.INVOICE_AMOUNT_CREDITED],
    ) == (400.0, 37.4, 0.0)
    assert json.loads(json.dumps(body)) == body  # plain JSON types only


def test_deep_link_opens_the_invoice_in_its_organisation():
    link = invoice_success_patch(INVOICE_ID, xero_invoice(), connection(), exported_at=NOW).body[
        schema.INVOICE_XERO_LINK
    ]
    assert link == (
        "https://go.xero.com/organisationlogin/default.aspx?shortcode=!Kf7Qm"
        f"&redirecturl=/AccountsReceivable/View.aspx?InvoiceID={XERO_INVOICE_ID}"
    )


def test_deep_link_of_a_bill_goes_to_accounts_payable():
    assert "/AccountsPayable/View.aspx?InvoiceID=" in xero_link(xero_invoice(type_="ACCPAY"), "!Kf7Qm")


def test_deep_link_of_a_credit_note_opens_the_credit_note():
    assert "/AccountsReceivable/ViewCreditNote.aspx?creditNoteID=c5e1d2f3" in xero_link(xero_credit_note(), "!X")


def test_no_short_code_means_no_link_written():
    patch = invoice_success_patch(INVOICE_ID, xero_invoice(), connection(xero_short_code=None), exported_at=NOW)
    assert schema.INVOICE_XERO_LINK not in patch.body


def test_credit_note_amounts_are_its_remaining_and_applied_credit():
    body = invoice_success_patch(INVOICE_ID, xero_credit_note(applied="40.00"), connection(), exported_at=NOW).body
    assert (body[schema.INVOICE_AMOUNT_DUE], body[schema.INVOICE_AMOUNT_CREDITED]) == (60.0, 40.0)
    assert body[schema.INVOICE_XERO_NUMBER] == "CN-0007"


def test_status_patch_leaves_the_export_columns_alone():
    body = invoice_status_patch(INVOICE_ID, xero_invoice("VOIDED")).body
    assert body[schema.INVOICE_XERO_STATUS] == "VOIDED"
    assert schema.INVOICE_EXPORT_STATUS not in body and schema.INVOICE_EXPORT_DATE not in body


def test_failure_sets_export_status_failed():
    patch = invoice_failure_patch(INVOICE_ID)
    assert patch.body == {schema.INVOICE_EXPORT_STATUS: ExportStatus.FAILED}


def test_customer_gets_its_xero_contact_id():
    patch = customer_contact_patch(CustomerRef(CustomerKind.CONTACT, "c-1", "Sarah Connor"), "xero-contact")
    assert (patch.entity_set, patch.row_id, dict(patch.body)) == (
        "contacts",
        "c-1",
        {schema.CUSTOMER_XERO_CONTACT_ID: "xero-contact"},
    )


def test_tax_goes_to_the_lines_only_where_it_differs():
    inv = invoice()
    ids = {line.id[-3:]: line.id for line in inv.lines}
    after = {"001": "10.00", "002": "14.40", "003": "28.50", "005": "20.00"}
    patches = line_value_patches(inv, {ids[end]: Decimal(tax) for end, tax in after.items()})
    taxes = {patch.row_id[-3:]: patch.body["tax"] for patch in patches}
    assert taxes == {"001": 10.0, "003": 28.5, "005": 20.0}  # "002" already holds 14.40; "004" is a note


def test_history_row_binds_invoice_and_connection_and_reads_like_the_seeds():
    row = history_row(
        invoice_id=INVOICE_ID,
        connection_id=CONNECTION_ID,
        occurred_on=NOW,
        action=SyncAction.CREATE,
        status=SyncStatus.SUCCESS,
        details="Done.",
        xero_invoice_id=XERO_INVOICE_ID,
        time_zone=ZoneInfo("Europe/London"),
    )
    assert row.entity_set == schema.SYNC_HISTORY_ENTITY_SET
    assert row.body == {
        "xc_name": "Sync - 2026-11-20 14:57:22",
        "xc_occurredon": "2026-11-20T14:57:22Z",
        "xc_action": SyncAction.CREATE,
        "xc_status": SyncStatus.SUCCESS,
        "xc_details": "Done.",
        "xc_xeroinvoiceid": XERO_INVOICE_ID,
        f"{schema.SYNC_HISTORY_INVOICE_NAV}@odata.bind": f"/invoices({INVOICE_ID})",
        f"{schema.SYNC_HISTORY_CONNECTION_NAV}@odata.bind": f"/xc_connections({CONNECTION_ID})",
    }


def test_history_row_of_a_deleted_invoice_has_no_invoice_bind():
    row = history_row(
        invoice_id=None,
        connection_id=CONNECTION_ID,
        occurred_on=NOW,
        action=SyncAction.DELETE,
        status=SyncStatus.SUCCESS,
        details="Deleted.",
    )
    assert not any(key.startswith(schema.SYNC_HISTORY_INVOICE_NAV) for key in row.body)


def test_success_details_name_the_document_action_and_status():
    assert success_details(SyncAction.CREATE, xero_invoice("DRAFT")) == (
        "Invoice INV-01001-K7Q2ZP created in Xero (status Draft)."
    )
    assert success_details(SyncAction.UPDATE, xero_invoice(type_="ACCPAY"), ["Note."]).startswith(
        "Bill INV-01001-K7Q2ZP updated in Xero (status Authorised). Note."
    )


def test_failure_details_add_xeros_validation_messages():
    body = {
        "ErrorNumber": 10,
        "Type": "ValidationException",
        "Message": "A validation exception occurred",
        "Elements": [
            {
                "ValidationErrors": [
                    {"Message": "Account code '999' is not a valid code for this document."},
                    {"Message": "Due Date is required"},
                ]
            }
        ],
    }
    messages = validation_messages(body)
    assert messages == ["Account code '999' is not a valid code for this document.", "Due Date is required"]
    assert failure_details("Xero refused the invoice.", messages) == (
        "Xero refused the invoice. Xero said: Account code '999' is not a valid code for this document. "
        "Due Date is required."
    )
    assert failure_details("Plain.") == "Plain."


def test_generic_xero_message_only_when_nothing_more_specific():
    assert validation_messages({"Message": "A validation exception occurred", "Elements": []}) == [
        "A validation exception occurred"
    ]
    assert validation_messages(None) == []


def test_batch_element_validation_messages_are_read_from_the_document():
    document = xero_invoice(
        validation_errors=[
            ValidationError(message="Contact is archived"),
            ValidationError(message="Contact is archived"),
        ]
    )
    assert document_validation_messages(document) == ["Contact is archived"]


def test_amounts_keep_their_cents():
    patch = invoice_success_patch(INVOICE_ID, xero_invoice(total="0.30", paid="0.10"), connection(), exported_at=NOW)
    assert Decimal(str(patch.body[schema.INVOICE_AMOUNT_DUE])) == Decimal("0.2")
    assert line_value_patches(invoice(), {"a-line-of-another-invoice": Decimal("1")}) == []
