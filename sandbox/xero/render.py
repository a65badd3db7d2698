"""Stored records to Xero's JSON shapes (private keys start with `_` and never leave the sandbox)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sandbox.xero import contacts as contact_rules
from sandbox.xero.tenant import Record, Tenant
from sandbox.xero.xjson import CENT, money, ms_date

_CONTACT_SUMMARY_KEYS = (
    "ContactID",
    "ContactStatus",
    "Name",
    "FirstName",
    "LastName",
    "EmailAddress",
    "AccountNumber",
    "Addresses",
    "Phones",
    "UpdatedDateUTC",
    "ContactGroups",
    "IsSupplier",
    "IsCustomer",
    "HasValidationErrors",
)


def public(record: Record) -> Record:
    return {k: v for k, v in record.items() if not k.startswith("_")}


def contact(tenant: Tenant, record: Record, today: dt.date, with_balances: bool = True) -> Record:
    out = public(record)
    out["HasValidationErrors"] = False
    if with_balances:
        out["Balances"] = contact_rules.balances(tenant, record["ContactID"], today)
    return out


def contact_summary(tenant: Tenant, contact_id: str) -> Record:
    record = tenant.contacts[contact_id]
    return {k: record[k] for k in _CONTACT_SUMMARY_KEYS if k in record}


def _line(line: Record) -> Record:
    return public(line)


def _payment_summary(payment: Record) -> Record:
    return {
        "PaymentID": payment["PaymentID"],
        "Date": payment["Date"],
        "Amount": payment["Amount"],
        "Reference": payment["Reference"],
        "CurrencyRate": payment["CurrencyRate"],
        "HasAccount": True,
        "HasValidationErrors": False,
    }


def invoice(tenant: Tenant, record: Record, with_lines: bool = True) -> Record:
    out = {k: v for k, v in public(record).items() if k not in ("Allocations", "Payments")}
    out["Contact"] = contact_summary(tenant, record["Contact"]["ContactID"])
    out["LineItems"] = [_line(line) for line in record["LineItems"]] if with_lines else []
    out["Payments"] = [_payment_summary(tenant.payments[p]) for p in record.get("Payments", [])]
    notes = []
    for allocation_id in record.get("Allocations", []):
        allocation = tenant.allocations[allocation_id]
        note = tenant.credit_notes[allocation["_credit_note_id"]]
        notes.append(
            {
                "CreditNoteID": note["CreditNoteID"],
                "CreditNoteNumber": note["CreditNoteNumber"],
                "AppliedAmount": allocation["Amount"],
                "Date": allocation["Date"],
                "Total": note["Total"],
                "Status": note["Status"],
                "Type": note["Type"],
            }
        )
    out["CreditNotes"] = notes
    out["Prepayments"] = []
    out["Overpayments"] = []
    return out


def allocation(tenant: Tenant, record: Record) -> Record:
    inv = tenant.invoices[record["_invoice_id"]]
    note = tenant.credit_notes[record["_credit_note_id"]]
    return {
        "AllocationID": record["AllocationID"],
        "Amount": record["Amount"],
        "Date": record["Date"],
        "IsDeleted": record["IsDeleted"],
        "Invoice": {
            "InvoiceID": inv["InvoiceID"],
            "InvoiceNumber": inv["InvoiceNumber"],
            "Type": inv["Type"],
            "Status": inv["Status"],
            "AmountDue": inv["AmountDue"],
        },
        "CreditNote": {
            "CreditNoteID": note["CreditNoteID"],
            "CreditNoteNumber": note["CreditNoteNumber"],
            "Type": note["Type"],
            "Status": note["Status"],
            "RemainingCredit": note["RemainingCredit"],
        },
        "StatusAttributeString": "OK",
    }


def credit_note(tenant: Tenant, record: Record) -> Record:
    out = {k: v for k, v in public(record).items() if k not in ("Allocations", "Payments")}
    out["Contact"] = contact_summary(tenant, record["Contact"]["ContactID"])
    out["LineItems"] = [_line(line) for line in record["LineItems"]]
    out["Allocations"] = [
        {k: v for k, v in allocation(tenant, tenant.allocations[a]).items() if k != "CreditNote"}
        for a in record.get("Allocations", [])
    ]
    out["Payments"] = [_payment_summary(tenant.payments[p]) for p in record.get("Payments", [])]
    return out


def payment(tenant: Tenant, record: Record) -> Record:
    out = public(record)
    inv = tenant.invoices[record["_document_id"]]
    out["Invoice"] = {
        "InvoiceID": inv["InvoiceID"],
        "InvoiceNumber": inv["InvoiceNumber"],
        "Type": inv["Type"],
        "Status": inv["Status"],
        "Contact": contact_summary(tenant, inv["Contact"]["ContactID"]),
        "CurrencyCode": inv["CurrencyCode"],
        "IsDiscounted": inv.get("IsDiscounted", False),
        "HasErrors": False,
        "LineItems": [],
        "Payments": [],
        "CreditNotes": [],
        "Prepayments": [],
        "Overpayments": [],
    }
    return out


def item(record: Record) -> Record:
    out = public(record)
    for key in ("SalesDetails", "PurchaseDetails"):
        if key in out and "UnitPrice" in out[key]:
            out[key] = {**out[key], "UnitPrice": money(out[key]["UnitPrice"], CENT * CENT)}
    return out


def envelope(
    name: str, rows: list[Any], provider: str, now: dt.datetime, extra: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Xero's response wrapper; DateTimeUTC is the one date without an offset."""
    body: dict[str, Any] = {
        "Id": str(uuid.uuid4()),
        "Status": "OK",
        "ProviderName": provider,
        "DateTimeUTC": ms_date(now, offset=False),
    }
    if extra:
        body.update(extra)
    body[name] = rows
    return body
