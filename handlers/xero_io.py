"""Invoices and credit notes through one interface, over the Xero gateway (limited, keyed, classified).

Dynamics keeps both kinds of document on the invoice row; Xero keeps them in two collections. The handlers
ask here and never branch on the model themselves.

Throughput: `DocumentSender` is the one place documents are written. Today it sends one document per call;
a per-tenant sender that drains several ready invoices into `XeroGateway.save_invoices` (up to 50 a call)
replaces its `send` without reshaping the handlers.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from xero_python.accounting import CreditNote
from xero_python.api_client.serializer import serialize

from app.clients.xero import XeroGateway
from mappers import xero_documents as docs
from mappers.dynamics import Invoice
from mappers.xero_documents import XeroDocument

_XERO_IDS = ("InvoiceID", "CreditNoteID", "LineItemID")


def fingerprint(document: XeroDocument) -> str:
    """What a document asks of Xero, without Xero's own ids: equal for a create and the same content's update."""

    def strip(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k not in _XERO_IDS}
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value

    body = strip(serialize(document))
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(f"{type(document).__name__}:{canonical}".encode()).hexdigest()


def get_document(xero: XeroGateway, document_id: str, *, credit_note: bool) -> XeroDocument:
    return xero.get_credit_note(document_id) if credit_note else xero.get_invoice(document_id)


def find_document(
    xero: XeroGateway, invoice: Invoice, sent: XeroDocument, *, since: datetime, contact_id: str | None
) -> XeroDocument | None:
    """The document an earlier attempt may have created: by the number sent, else by reference and contact."""
    number = docs.document_number(sent)
    reference = sent.reference
    if isinstance(sent, CreditNote):
        if not (number or reference):
            return None
        return xero.find_credit_note(modified_since=since, number=number, reference=reference, contact_id=contact_id)
    if number:
        return xero.find_invoice(number=number, invoice_type=invoice.xero_type.value)
    if reference:
        return xero.find_invoice(
            reference=reference, contact_id=contact_id, modified_since=since, invoice_type=invoice.xero_type.value
        )
    return None


class DocumentSender:
    """Creates and updates documents in one tenant, each write carrying the mappers' idempotency key.

    Writes go through the gateway (token refresh, tenant limiter, error classification, `unitdp=4` for the
    mappers' 4-decimal unit amounts).
    """

    def __init__(self, xero: XeroGateway) -> None:
        self.xero = xero

    def create(self, document: XeroDocument, key: str) -> XeroDocument:
        if isinstance(document, CreditNote):
            return self.xero.create_credit_note(document, idempotency_key=key)
        return self.xero.create_invoice(document, idempotency_key=key)

    def update(self, document: XeroDocument, key: str) -> XeroDocument:
        if isinstance(document, CreditNote):
            return self.xero.update_credit_note(document, idempotency_key=key)
        return self.xero.update_invoice(document, idempotency_key=key)

    def set_status(self, document: XeroDocument, body: XeroDocument, key: str) -> XeroDocument:
        """Delete or void (the body comes from `mappers.cancellation.status_change`)."""
        if isinstance(body, CreditNote):
            return self.update(body, key)
        if docs.status_of(body) == docs.DELETED:
            return self.xero.delete_invoice(str(docs.document_id(document)), idempotency_key=key)
        return self.xero.void_invoice(str(docs.document_id(document)), idempotency_key=key)
