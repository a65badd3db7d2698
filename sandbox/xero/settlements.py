"""Payments against invoices and credit-note allocations: the only ways money reduces AmountDue."""

from __future__ import annotations

import copy
import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

from sandbox.xero import documents
from sandbox.xero.documents import CREDIT_NOTE, INVOICE
from sandbox.xero.errors import NotFound, ValidationFailure
from sandbox.xero.tenant import Record, Tenant
from sandbox.xero.transaction import Transaction
from sandbox.xero.xjson import money, parse_date, to_decimal

EXCEEDS_MESSAGE = "Payment amount exceeds the amount outstanding on this document"
CREDIT_TYPE_FOR = {"ACCRECCREDIT": "ACCREC", "ACCPAYCREDIT": "ACCPAY"}


def _amount(raw: Record) -> Decimal:
    try:
        amount = money(to_decimal(raw.get("Amount")))
    except ValueError as exc:
        raise ValidationFailure("Amount must be a number") from exc
    if amount <= 0:
        raise ValidationFailure("Amount must be greater than zero")
    return amount


def _date(raw: Record, now: dt.datetime) -> dt.date:
    if raw.get("Date") in (None, ""):
        return now.date()
    try:
        return parse_date(raw["Date"])
    except ValueError as exc:
        raise ValidationFailure("Date is not a valid date") from exc


def _invoice_ref(tenant: Tenant, raw: Any) -> Record:
    raw = raw if isinstance(raw, dict) else {}
    key = raw.get("InvoiceID") or raw.get("InvoiceNumber")
    if not key:
        raise ValidationFailure("You must specify an Invoice for the payment")
    try:
        return documents.find(tenant, INVOICE, str(key))
    except NotFound as exc:
        raise ValidationFailure("Invoice could not be found") from exc


def _payment_account(tenant: Tenant, raw: Any) -> Record:
    raw = raw if isinstance(raw, dict) else {}
    account = None
    if raw.get("AccountID"):
        account = tenant.account_by_id(str(raw["AccountID"]))
    elif raw.get("Code"):
        account = tenant.account_by_code(str(raw["Code"]))
    if account is None or account["Status"] != "ACTIVE" or not account.get("EnablePaymentsToAccount"):
        raise ValidationFailure("Account must be valid.")
    return account


def create_payment(tenant: Tenant, raw: Any, tx: Transaction, now: dt.datetime) -> Record:
    if not isinstance(raw, dict):
        raise ValidationFailure("Payment must be an object")
    errors: list[str] = []
    invoice = account = None
    amount = Decimal(0)
    for step in ("invoice", "account", "amount"):
        try:
            if step == "invoice":
                invoice = _invoice_ref(tenant, raw.get("Invoice"))
            elif step == "account":
                account = _payment_account(tenant, raw.get("Account"))
            else:
                amount = _amount(raw)
        except ValidationFailure as failure:
            errors.extend(failure.messages)
    if invoice is not None and invoice["Status"] != "AUTHORISED":
        errors.append("Payments can only be made against Authorised documents")
    elif invoice is not None and amount > invoice["AmountDue"]:
        errors.append(EXCEEDS_MESSAGE)
    date = None
    try:
        date = _date(raw, now)
    except ValidationFailure as failure:
        errors.extend(failure.messages)
    if errors:
        raise ValidationFailure(*errors)
    assert invoice is not None and account is not None and date is not None
    payment = {
        "PaymentID": str(uuid.uuid4()),
        "Date": date,
        "Amount": amount,
        "BankAmount": amount,
        "CurrencyRate": Decimal(1),
        "Reference": str(raw.get("Reference") or ""),
        "IsReconciled": bool(raw.get("IsReconciled", False)),
        "Status": "AUTHORISED",
        "PaymentType": "ACCRECPAYMENT" if invoice["Type"] == "ACCREC" else "ACCPAYPAYMENT",
        "UpdatedDateUTC": now,
        "HasAccount": True,
        "HasValidationErrors": False,
        "Account": {"AccountID": account["AccountID"], "Code": account["Code"]},
        "_document_id": invoice["InvoiceID"],
    }
    tx.put(tenant.payments, payment["PaymentID"], payment)
    documents.touch(tenant, INVOICE, invoice, tx, now)
    return payment


def delete_payment(tenant: Tenant, payment_id: str, raw: Any, tx: Transaction, now: dt.datetime) -> Record:
    payment = tenant.payments.get(payment_id)
    if payment is None:
        raise NotFound(payment_id)
    if not isinstance(raw, dict) or str(raw.get("Status", "")).upper() != "DELETED":
        raise ValidationFailure("A payment can only be updated to a status of DELETED")
    if payment["Status"] == "DELETED":
        raise ValidationFailure("Payment has already been deleted")
    updated = {**copy.deepcopy(payment), "Status": "DELETED", "UpdatedDateUTC": now}
    tx.put(tenant.payments, payment_id, updated)
    documents.touch(tenant, INVOICE, tenant.invoices[payment["_document_id"]], tx, now)
    return updated


def allocate(tenant: Tenant, credit_note: Record, raw: Any, tx: Transaction, now: dt.datetime) -> Record:
    """Apply part of an authorised credit note to an open invoice of the same contact and side."""
    if not isinstance(raw, dict):
        raise ValidationFailure("Allocation must be an object")
    if credit_note["Status"] != "AUTHORISED":
        raise ValidationFailure("Credit note must be AUTHORISED before it can be allocated")
    invoice = _invoice_ref(tenant, raw.get("Invoice"))
    amount = _amount(raw)
    date = _date(raw, now)
    if invoice["Status"] != "AUTHORISED":
        raise ValidationFailure("Invoice must be AUTHORISED to allocate a credit note to it")
    if invoice["Type"] != CREDIT_TYPE_FOR[credit_note["Type"]]:
        raise ValidationFailure("The credit note and the invoice must be of matching types")
    if invoice["Contact"]["ContactID"] != credit_note["Contact"]["ContactID"]:
        raise ValidationFailure("The credit note and the invoice must belong to the same contact")
    if amount > credit_note["RemainingCredit"]:
        raise ValidationFailure("Amount exceeds the remaining credit on this credit note")
    if amount > invoice["AmountDue"]:
        raise ValidationFailure(EXCEEDS_MESSAGE)
    allocation = {
        "AllocationID": str(uuid.uuid4()),
        "Amount": amount,
        "Date": date,
        "IsDeleted": False,
        "_invoice_id": invoice["InvoiceID"],
        "_credit_note_id": credit_note["CreditNoteID"],
    }
    tx.put(tenant.allocations, allocation["AllocationID"], allocation)
    documents.touch(tenant, CREDIT_NOTE, credit_note, tx, now)
    documents.touch(tenant, INVOICE, invoice, tx, now)
    return allocation
