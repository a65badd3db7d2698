"""What the connector writes back into Dynamics after talking to Xero: Web API bodies, ready to send or batch.

    patch = invoice_success_patch(invoice.id, saved_document, connection, exported_at=now)
    history = history_row(invoice_id=invoice.id, connection_id=connection.id, occurred_on=now,
                          action=SyncAction.CREATE, status=SyncStatus.SUCCESS,
                          details=success_details(SyncAction.CREATE, saved_document),
                          xero_invoice_id=document_id(saved_document))
    PATCH f"{patch.entity_set}({patch.row_id})" with patch.body; POST history.entity_set with history.body

On failure: `invoice_failure_patch` (export status Failed) and a history row whose details come from
`failure_details(error.user_message, validation_messages(...))`. The customer's new Xero contact id goes
back with `customer_contact_patch`, and each line's tax after Xero's calculation with `line_value_patches`.
Bodies hold only JSON types (amounts as numbers, instants as ISO-8601 UTC with `Z`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from xero_python.accounting import CreditNote

from app import dynamics_schema as schema
from app.dynamics_schema import ExportStatus, SyncAction, SyncStatus
from mappers import xero_documents as docs
from mappers.dynamics import ConnectionSettings, CustomerRef, Invoice, XeroDocumentType
from mappers.xero_documents import XeroDocument

if TYPE_CHECKING:
    from mappers.inclusive import ExclusiveLine
    from mappers.totals import TotalsCheck

XERO_LOGIN = "https://go.xero.com/organisationlogin/default.aspx"
MAX_DETAILS = 100000
_INVOICE_SET = schema.entity_set_name("invoice")
_LINE_SET = schema.entity_set_name("invoicedetail")
_HISTORY_INVOICE = schema.lookup(schema.SYNC_HISTORY_ENTITY, schema.SYNC_HISTORY_INVOICE)
_HISTORY_CONNECTION = schema.lookup(schema.SYNC_HISTORY_ENTITY, schema.SYNC_HISTORY_CONNECTION)
_WORDS = {
    XeroDocumentType.ACCREC: "Invoice",
    XeroDocumentType.ACCPAY: "Bill",
    XeroDocumentType.ACCRECCREDIT: "Credit note",
    XeroDocumentType.ACCPAYCREDIT: "Supplier credit note",
}
_ACTION_WORDS = {
    SyncAction.CREATE: "created in Xero",
    SyncAction.UPDATE: "updated in Xero",
    SyncAction.DELETE: "deleted in Xero",
    SyncAction.VOID: "voided in Xero",
    SyncAction.CREDIT_NOTE: "credited in Xero",
    SyncAction.STATUS: "checked in Xero",
    SyncAction.PAYMENT: "paid in Xero",
}


@dataclass(frozen=True)
class RowPatch:
    """`PATCH {entity_set}({row_id})` with `body` (send `If-Match: *` so a deleted row is not re-created)."""

    entity_set: str
    row_id: str
    body: Mapping[str, Any]


@dataclass(frozen=True)
class RowCreate:
    """`POST {entity_set}` with `body`."""

    entity_set: str
    body: Mapping[str, Any]


def xero_link(document: XeroDocument, short_code: str | None) -> str | None:
    """The deep link that opens the document in the right Xero organisation (None without a short code)."""
    document_id = docs.document_id(document)
    if not short_code or not document_id:
        return None
    document_type = docs.document_type(document) or XeroDocumentType.ACCREC
    ledger = "AccountsReceivable" if document_type.is_sales else "AccountsPayable"
    if isinstance(document, CreditNote):
        page = f"/{ledger}/ViewCreditNote.aspx?creditNoteID={document_id}"
    else:
        page = f"/{ledger}/View.aspx?InvoiceID={document_id}"
    return f"{XERO_LOGIN}?shortcode={short_code}&redirecturl={page}"


def invoice_success_patch(
    invoice_id: str, document: XeroDocument, connection: ConnectionSettings, *, exported_at: datetime
) -> RowPatch:
    """The Xero id, number, status, link and amounts on the invoice, export status Yes and the export date."""
    body: dict[str, Any] = {
        schema.INVOICE_XERO_INVOICE_ID: docs.document_id(document),
        schema.INVOICE_XERO_NUMBER: docs.document_number(document),
        schema.INVOICE_XERO_STATUS: docs.status_of(document) or None,
        schema.INVOICE_EXPORT_STATUS: int(ExportStatus.YES),
        schema.INVOICE_EXPORT_DATE: iso_instant(exported_at),
        schema.INVOICE_AMOUNT_DUE: _number(docs.amount_due(document)),
        schema.INVOICE_AMOUNT_PAID: _number(docs.amount_paid(document)),
        schema.INVOICE_AMOUNT_CREDITED: _number(docs.amount_credited(document)),
    }
    link = xero_link(document, connection.xero_short_code)
    if link:
        body[schema.INVOICE_XERO_LINK] = link
    return RowPatch(_INVOICE_SET, invoice_id, body)


def invoice_status_patch(invoice_id: str, document: XeroDocument) -> RowPatch:
    """Only the Xero status and amounts (after a delete, void or credit), leaving the export columns alone."""
    return RowPatch(
        _INVOICE_SET,
        invoice_id,
        {
            schema.INVOICE_XERO_STATUS: docs.status_of(document) or None,
            schema.INVOICE_AMOUNT_DUE: _number(docs.amount_due(document)),
            schema.INVOICE_AMOUNT_PAID: _number(docs.amount_paid(document)),
            schema.INVOICE_AMOUNT_CREDITED: _number(docs.amount_credited(document)),
        },
    )


def invoice_failure_patch(invoice_id: str) -> RowPatch:
    """Export status Failed: the connector waits until someone sets it back to No or Ready to update."""
    return RowPatch(_INVOICE_SET, invoice_id, {schema.INVOICE_EXPORT_STATUS: int(ExportStatus.FAILED)})


def customer_contact_patch(customer: CustomerRef, contact_id: str) -> RowPatch:
    """Remember the Xero contact on the account or contact, so later invoices use it without a lookup."""
    return RowPatch(customer.kind.entity_set, customer.id, {schema.CUSTOMER_XERO_CONTACT_ID: contact_id})


def line_value_patches(
    invoice: Invoice, taxes: Mapping[str, Decimal], converted: Sequence[ExclusiveLine] = ()
) -> list[RowPatch]:
    """`taxes` (by line id, from `mappers.totals.line_taxes_after`) onto the lines, and on a tax-inclusive
    invoice each line's tax-exclusive price and discount (`mappers.inclusive`); only what differs is sent,
    one patch per line."""
    lines = {line.id: line for line in invoice.lines}
    bodies: dict[str, dict[str, Any]] = {}
    for line_id, tax in taxes.items():
        if line_id in lines and tax != lines[line_id].tax:
            bodies.setdefault(line_id, {})["tax"] = tax
    for change in converted:
        line = lines[change.line_id]
        body = bodies.setdefault(change.line_id, {})
        if change.price_per_unit != line.price_per_unit:
            body["priceperunit"] = change.price_per_unit
            if not line.is_write_in:
                body["ispriceoverridden"] = True  # else Dynamics takes the price list's price again
        if change.manual_discount != line.manual_discount:
            body["manualdiscountamount"] = change.manual_discount
    return [RowPatch(_LINE_SET, line_id, body) for line_id, body in bodies.items() if body]


def discount_as_amount(invoice: Invoice, discount: Decimal) -> dict[str, Any]:
    """A percentage invoice discount as the same amount (used once the lines of a tax-inclusive invoice are
    written without their tax, which would change what the percentage comes to)."""
    if not invoice.discount_percentage:
        return {}
    return {"discountamount": discount, "discountpercentage": Decimal(0)}


def totals_fields(check: TotalsCheck) -> dict[str, Any]:
    """Xero's totals, how they compare and why, for the invoice row."""
    return {
        schema.INVOICE_XERO_SUBTOTAL: check.xero.sub_total,
        schema.INVOICE_XERO_TOTAL_TAX: check.xero.total_tax,
        schema.INVOICE_XERO_TOTAL: check.xero.total,
        schema.INVOICE_TOTALS_STATUS: int(check.status),
        schema.INVOICE_TOTALS_DIFFERENCE: check.difference or None,
    }


def history_row(
    *,
    invoice_id: str | None,
    connection_id: str | None,
    occurred_on: datetime,
    action: SyncAction,
    status: SyncStatus,
    details: str,
    xero_invoice_id: str | None = None,
    time_zone: ZoneInfo | None = None,
) -> RowCreate:
    """One Sync History row. Its name reads like the seeds' ("Sync - 2024-05-01 14:57:22"), in the
    connection's time zone when given; a deleted invoice's row is written without the invoice bind."""
    local = occurred_on.astimezone(time_zone) if time_zone else occurred_on.astimezone(UTC)
    body: dict[str, Any] = {
        schema.SYNC_HISTORY_NAME: f"Sync - {local:%Y-%m-%d %H:%M:%S}",
        schema.SYNC_HISTORY_OCCURRED_ON: iso_instant(occurred_on),
        schema.SYNC_HISTORY_ACTION: int(action),
        schema.SYNC_HISTORY_STATUS: int(status),
        schema.SYNC_HISTORY_DETAILS: details[:MAX_DETAILS],
    }
    if xero_invoice_id:
        body[schema.SYNC_HISTORY_XERO_INVOICE_ID] = xero_invoice_id
    if invoice_id:
        body.update(schema.bind(_HISTORY_INVOICE, invoice_id))
    if connection_id:
        body.update(schema.bind(_HISTORY_CONNECTION, connection_id))
    return RowCreate(schema.SYNC_HISTORY_ENTITY_SET, body)


def success_details(action: SyncAction, document: XeroDocument, notes: Sequence[str] = ()) -> str:
    """E.g. "Invoice INV-0044 created in Xero (status Draft)." followed by any notes."""
    document_type = docs.document_type(document) or XeroDocumentType.ACCREC
    number = docs.document_number(document)
    status = docs.status_of(document).capitalize()
    what = _WORDS[document_type] + (f" {number}" if number else "")
    done = _ACTION_WORDS.get(action, "synced with Xero")
    head = f"{what} {done}" + (f" (status {status})" if status else "") + "."
    return " ".join([head, *notes])


def failure_details(user_message: str, messages: Sequence[str] = ()) -> str:
    """The reason in a finance user's words, then Xero's own validation messages, if any."""
    if not messages:
        return user_message
    return f"{user_message} Xero said: {' '.join(_sentence(m) for m in messages)}"


def validation_messages(error_body: Mapping[str, Any] | None) -> list[str]:
    """Xero's validation messages from a 400 body (`Elements[].ValidationErrors[].Message`), without repeats;
    the generic top-level `Message` only when there is nothing more specific."""
    if not error_body:
        return []
    found: list[str] = []
    for element in error_body.get("Elements") or ():
        for error in (element or {}).get("ValidationErrors") or ():
            message = str((error or {}).get("Message") or "").strip()
            if message and message not in found:
                found.append(message)
    if not found and error_body.get("Message"):
        found.append(str(error_body["Message"]).strip())
    return found


def document_validation_messages(document: XeroDocument) -> list[str]:
    """The messages Xero attaches to one element of a batch sent with `summarizeErrors=false`."""
    found: list[str] = []
    for error in document.validation_errors or ():
        message = str(getattr(error, "message", "") or "").strip()
        if message and message not in found:
            found.append(message)
    return found


def iso_instant(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("pass an aware datetime")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _number(amount: Decimal) -> float:
    return float(amount)


def _sentence(message: str) -> str:
    message = message.strip()
    return message if message.endswith((".", "!", "?")) else message + "."
