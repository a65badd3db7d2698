"""Invoices and credit notes: creation, updates and Xero's status and editing rules."""

from __future__ import annotations

import copy
import datetime as dt
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sandbox.xero import contacts as contact_rules
from sandbox.xero.errors import NotFound, ValidationFailure
from sandbox.xero.lines import LINE_AMOUNT_TYPES, build_lines, totals
from sandbox.xero.tenant import Record, Tenant
from sandbox.xero.transaction import Transaction
from sandbox.xero.xjson import parse_date

ZERO = Decimal("0.00")
LOCKED_MESSAGE = "This document cannot be edited as it has a payment or credit note allocated to it."
BAD_STATUS_MESSAGE = "Invoice not of valid status for modification"
CREATE_STATUSES = {"DRAFT", "SUBMITTED", "AUTHORISED"}
TRANSITIONS = {
    "DRAFT": {"DRAFT", "SUBMITTED", "AUTHORISED", "DELETED"},
    "SUBMITTED": {"DRAFT", "SUBMITTED", "AUTHORISED", "DELETED"},
    "AUTHORISED": {"AUTHORISED", "VOIDED"},
    "PAID": {"PAID"},
    "VOIDED": set(),
    "DELETED": set(),
}
# What may still change once money is allocated (Xero's documented list).
SETTLED_EDITABLE = {"Reference", "DueDate", "InvoiceNumber", "BrandingThemeID", "Contact", "Url"}
SETTLED_LINE_EDITABLE = {"Description", "AccountCode", "Tracking"}
READ_ONLY = {
    "SubTotal",
    "TotalTax",
    "Total",
    "TotalDiscount",
    "AmountDue",
    "AmountPaid",
    "AmountCredited",
    "Payments",
    "CreditNotes",
    "Prepayments",
    "Overpayments",
    "UpdatedDateUTC",
    "FullyPaidOnDate",
    "HasAttachments",
    "IsDiscounted",
    "HasErrors",
    "RemainingCredit",
    "Allocations",
    "AppliedAmount",
    "StatusAttributeString",
    "ValidationErrors",
    "Warnings",
    "UpdatedDateUTCString",
    "Attachments",
    "CISDeduction",
    "CISRate",
    "InvoiceAddresses",
    "DateString",
    "DueDateString",
}


@dataclass(frozen=True)
class DocKind:
    label: str
    id_key: str
    number_key: str
    types: frozenset[str]
    numbered_type: str
    number_prefix: str
    counter: str
    category: str

    def number_of(self, doc: Record) -> str:
        return str(doc.get(self.number_key) or "")


INVOICE = DocKind(
    "Invoice",
    "InvoiceID",
    "InvoiceNumber",
    frozenset({"ACCREC", "ACCPAY"}),
    "ACCREC",
    "INV-",
    "next_invoice_number",
    "INVOICE",
)
CREDIT_NOTE = DocKind(
    "Credit Note",
    "CreditNoteID",
    "CreditNoteNumber",
    frozenset({"ACCRECCREDIT", "ACCPAYCREDIT"}),
    "ACCRECCREDIT",
    "CN-",
    "next_credit_note_number",
    "CREDITNOTE",
)


def store_of(tenant: Tenant, kind: DocKind) -> dict[str, Record]:
    return tenant.invoices if kind is INVOICE else tenant.credit_notes


def find(tenant: Tenant, kind: DocKind, key: str) -> Record:
    """By id, or by number as Xero also allows in the path."""
    store = store_of(tenant, kind)
    if key in store:
        return store[key]
    lowered = key.lower()
    for doc in store.values():
        if doc.get(kind.id_key, "").lower() == lowered or kind.number_of(doc).lower() == lowered:
            return doc
    raise NotFound(key)


def _date(raw: Record, key: str) -> dt.date | None:
    if raw.get(key) in (None, ""):
        return None
    try:
        return parse_date(raw[key])
    except ValueError as exc:
        raise ValidationFailure(f"{key} is not a valid date") from exc


def _number_taken(tenant: Tenant, kind: DocKind, number: str, own_id: str | None) -> bool:
    wanted = number.strip().lower()
    return any(
        doc[kind.id_key] != own_id
        and doc["Type"] == kind.numbered_type
        and doc["Status"] != "DELETED"
        and kind.number_of(doc).strip().lower() == wanted
        for doc in store_of(tenant, kind).values()
    )


def _next_number(tenant: Tenant, kind: DocKind, tx: Transaction) -> str:
    counter = getattr(tenant, kind.counter)
    while True:
        number = f"{kind.number_prefix}{counter:04d}"
        counter += 1
        if not _number_taken(tenant, kind, number, None):
            tx.set_attr(tenant, kind.counter, counter)
            return number


def _settled(doc: Record) -> bool:
    return (doc.get("AmountPaid") or ZERO) + (doc.get("AmountCredited") or ZERO) > 0 or bool(doc.get("Allocations"))


def _check_settled_edit(doc: Record, raw: Record) -> None:
    """Refuse any change outside the short list Xero allows once money is allocated."""
    for key, value in raw.items():
        if key in READ_ONLY or key in SETTLED_EDITABLE or key in ("LineItems", "Status", "Type"):
            continue
        if key in ("Date", "ExpectedPaymentDate", "PlannedPaymentDate"):
            if _date(raw, key) != doc.get(key):
                raise ValidationFailure(LOCKED_MESSAGE)
            continue
        if key == "CurrencyRate":
            continue
        if key in doc and value != doc[key] and key not in (INVOICE.id_key, CREDIT_NOTE.id_key):
            raise ValidationFailure(LOCKED_MESSAGE)
    if "Status" in raw and raw["Status"] != doc["Status"]:
        raise ValidationFailure(LOCKED_MESSAGE)
    if "LineItems" in raw and isinstance(raw["LineItems"], list):
        old = {line["LineItemID"]: line for line in doc["LineItems"]}
        sent_ids = [line.get("LineItemID") for line in raw["LineItems"] if isinstance(line, dict)]
        if sorted(str(i) for i in sent_ids) != sorted(old):
            raise ValidationFailure(LOCKED_MESSAGE)
        for line in raw["LineItems"]:
            before = old[str(line["LineItemID"])]
            for key, value in line.items():
                if key in SETTLED_LINE_EDITABLE or key in (
                    "LineItemID",
                    "AccountID",
                    "Item",
                    "TaxAmount",
                    "LineAmount",
                    "DiscountAmount",
                ):
                    continue
                if key in before and _differs(value, before[key]):
                    raise ValidationFailure(LOCKED_MESSAGE)


def _differs(sent: Any, stored: Any) -> bool:
    if isinstance(stored, Decimal):
        try:
            return Decimal(str(sent)) != stored
        except ArithmeticError:
            return True
    return bool(sent != stored)


def _status_change(kind: DocKind, doc: Record | None, wanted: str) -> None:
    if doc is None:
        if wanted not in CREATE_STATUSES:
            raise ValidationFailure(f"{kind.label} not of valid status for creation")
        return
    current = doc["Status"]
    if current in ("VOIDED", "DELETED"):
        raise ValidationFailure(f"{kind.label} not of valid status for modification")
    if wanted not in TRANSITIONS[current]:
        if wanted == "VOIDED" and _settled(doc):
            raise ValidationFailure(LOCKED_MESSAGE)
        raise ValidationFailure(f"{kind.label} not of valid status for modification")


def upsert(
    tenant: Tenant,
    kind: DocKind,
    raw: Any,
    existing: Record | None,
    tx: Transaction,
    now: dt.datetime,
    unit_places: Decimal,
) -> Record:
    """Validate one document against the tenant and store it; raises ValidationFailure with Xero's texts."""
    if not isinstance(raw, dict):
        raise ValidationFailure(f"{kind.label} must be an object")
    if existing is not None and existing["Status"] in ("VOIDED", "DELETED"):
        raise ValidationFailure(
            BAD_STATUS_MESSAGE if kind is INVOICE else f"{kind.label} not of valid status for modification"
        )
    if existing is not None and _settled(existing):
        _check_settled_edit(existing, raw)

    doc: Record = (
        copy.deepcopy(existing)
        if existing
        else {
            kind.id_key: str(uuid.uuid4()),
            "LineItems": [],
            "HasAttachments": False,
            "HasErrors": False,
            "AmountPaid": ZERO,
            "AmountCredited": ZERO,
            "Payments": [],
            "Allocations": [],
        }
    )
    errors: list[str] = []

    doc_type = raw.get("Type", doc.get("Type"))
    if existing is not None and raw.get("Type") not in (None, existing["Type"]):
        errors.append(f"The {kind.label.lower()} type cannot be changed")
    elif doc_type not in kind.types:
        errors.append(
            f"{kind.label} Type must be specified"
            if not doc_type
            else f"'{doc_type}' is not a valid {kind.label.lower()} type"
        )
    doc["Type"] = doc_type

    status = str(raw.get("Status") or doc.get("Status") or "DRAFT").upper()
    try:
        _status_change(kind, existing, status)
    except ValidationFailure as failure:
        errors.extend(failure.messages)
    approved = status in ("SUBMITTED", "AUTHORISED")

    if "Contact" in raw or existing is None:
        try:
            contact = contact_rules.resolve_for_document(tenant, raw.get("Contact"), tx, now)
            doc["Contact"] = {"ContactID": contact["ContactID"]}
        except ValidationFailure as failure:
            errors.extend(failure.messages)

    for key in ("Date", "DueDate", "ExpectedPaymentDate", "PlannedPaymentDate"):
        if key in raw:
            try:
                doc[key] = _date(raw, key)
            except ValidationFailure as failure:
                errors.extend(failure.messages)
    doc.setdefault("Date", now.date())
    if doc.get("Date") is None:
        doc["Date"] = now.date()
    lock = tenant.lock_date
    document_date = doc.get("Date")
    if isinstance(document_date, dt.datetime):
        document_date = document_date.date()
    if lock is not None and isinstance(document_date, dt.date) and document_date <= lock:
        # Xero refuses documents dated on or before the organisation's lock date (Organisation.PeriodLockDate /
        # EndOfYearLockDate; xero.md "pain points").
        errors.append(f"The document date cannot be before the end of year lock date ({lock:%d %b %Y}).")
    if kind is INVOICE and approved and not doc.get("DueDate"):
        errors.append("The document DueDate field must be specified.")

    amount_types = raw.get("LineAmountTypes", doc.get("LineAmountTypes") or "Exclusive")
    if amount_types not in LINE_AMOUNT_TYPES:
        errors.append(f"'{amount_types}' is not a valid LineAmountTypes value")
        amount_types = "Exclusive"
    doc["LineAmountTypes"] = amount_types

    currency = str(raw.get("CurrencyCode") or doc.get("CurrencyCode") or tenant.base_currency)
    if not tenant.currency_enabled(currency):
        errors.append(f"The currency code '{currency}' is not enabled for this organisation")
    doc["CurrencyCode"] = currency
    doc["CurrencyRate"] = (
        Decimal(1)
        if currency == tenant.base_currency
        else Decimal(str(raw.get("CurrencyRate") or doc.get("CurrencyRate") or 1))
    )

    if raw.get("BrandingThemeID"):
        if tenant.branding_theme(str(raw["BrandingThemeID"])) is None:
            errors.append("Branding theme is not valid")
        doc["BrandingThemeID"] = raw["BrandingThemeID"]
    for key in ("Reference", "Url", "SentToContact"):
        if key in raw:
            doc[key] = raw[key]
    if doc["Type"] == "ACCPAY":
        doc.pop("Reference", None)  # bills carry their reference in InvoiceNumber

    if "LineItems" in raw or existing is None:
        try:
            doc["LineItems"] = build_lines(
                tenant, str(doc_type), amount_types, raw.get("LineItems") or [], doc["LineItems"], unit_places, approved
            )
        except ValidationFailure as failure:
            errors.extend(failure.messages)
    elif "LineAmountTypes" in raw or approved:
        try:  # re-price the kept lines under the (possibly) new rules
            doc["LineItems"] = build_lines(
                tenant,
                str(doc_type),
                amount_types,
                [{"LineItemID": line["LineItemID"]} for line in doc["LineItems"]],
                doc["LineItems"],
                unit_places,
                approved,
            )
        except ValidationFailure as failure:
            errors.extend(failure.messages)
    if approved and not doc["LineItems"]:
        errors.append(f"A {kind.label.lower()} must have at least one line item to be approved")

    number = raw.get(kind.number_key)
    if number not in (None, ""):
        if doc["Type"] == kind.numbered_type and _number_taken(tenant, kind, str(number), doc[kind.id_key]):
            errors.append(f"{'Invoice' if kind is INVOICE else 'Credit Note'} # must be unique.")
        doc[kind.number_key] = str(number)

    if errors:
        raise ValidationFailure(*errors)

    if not doc.get(kind.number_key) and doc["Type"] == kind.numbered_type:
        doc[kind.number_key] = _next_number(tenant, kind, tx)
    doc.setdefault(kind.number_key, "")
    sub_total, total_tax, total, discount = totals(doc["LineItems"], amount_types)
    if total < 0:
        raise ValidationFailure(f"The {kind.label.lower()} total must not be negative")
    doc.update(SubTotal=sub_total, TotalTax=total_tax, Total=total, Status=status)
    if kind is INVOICE:
        doc["TotalDiscount"] = discount
        doc["IsDiscounted"] = discount > 0
    doc["UpdatedDateUTC"] = now
    refresh_amounts(tenant, kind, doc, now)
    tx.put(store_of(tenant, kind), doc[kind.id_key], doc)
    tx.raise_event(tenant.tenant_id, kind.category, "UPDATE" if existing else "CREATE", doc[kind.id_key])
    if status in ("AUTHORISED", "PAID"):
        contact_rules.mark_roles(tenant, doc["Contact"]["ContactID"], str(doc_type), tx)
    return doc


def refresh_amounts(tenant: Tenant, kind: DocKind, doc: Record, now: dt.datetime) -> None:
    """Derive paid/credited/due amounts and the PAID status from payments and allocations."""
    doc_id = doc[kind.id_key]
    live_payments = [
        p for p in tenant.payments.values() if p["Status"] == "AUTHORISED" and p.get("_document_id") == doc_id
    ]
    if kind is INVOICE:
        allocations = [a for a in tenant.allocations.values() if a["_invoice_id"] == doc_id]
    else:
        allocations = [a for a in tenant.allocations.values() if a["_credit_note_id"] == doc_id]
    paid = sum((p["Amount"] for p in live_payments), ZERO)
    allocated = sum((a["Amount"] for a in allocations), ZERO)
    doc["Payments"] = [p["PaymentID"] for p in live_payments]
    doc["Allocations"] = [a["AllocationID"] for a in allocations]
    if kind is INVOICE:
        doc["AmountPaid"], doc["AmountCredited"] = paid, allocated
        remaining = doc["Total"] - paid - allocated
        doc["AmountDue"] = remaining
    else:
        doc["AppliedAmount"] = allocated + paid
        remaining = doc["Total"] - paid - allocated
        doc["RemainingCredit"] = remaining
    settled = paid + allocated > 0
    if doc["Status"] == "AUTHORISED" and remaining == 0 and settled:
        doc["Status"] = "PAID"
        dates = [p["Date"] for p in live_payments] + [a["Date"] for a in allocations]
        doc["FullyPaidOnDate"] = max(dates)
    elif doc["Status"] == "PAID" and remaining > 0:
        doc["Status"] = "AUTHORISED"
        doc.pop("FullyPaidOnDate", None)


def touch(tenant: Tenant, kind: DocKind, doc: Record, tx: Transaction, now: dt.datetime) -> None:
    """Re-derive a document after money moved, storing a new version and raising its UPDATE event."""
    updated = copy.deepcopy(doc)
    refresh_amounts(tenant, kind, updated, now)
    updated["UpdatedDateUTC"] = now
    tx.put(store_of(tenant, kind), updated[kind.id_key], updated)
    tx.raise_event(tenant.tenant_id, kind.category, "UPDATE", updated[kind.id_key])
