"""Contacts: unique names per organisation, creation by name from documents, and computed balances."""

from __future__ import annotations

import copy
import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

from sandbox.xero.errors import ValidationFailure
from sandbox.xero.seed import new_contact_record
from sandbox.xero.tenant import Record, Tenant
from sandbox.xero.transaction import Transaction

ZERO = Decimal("0.00")
EDITABLE = (
    "Name",
    "FirstName",
    "LastName",
    "EmailAddress",
    "AccountNumber",
    "ContactNumber",
    "CompanyNumber",
    "TaxNumber",
    "Website",
    "Addresses",
    "Phones",
    "ContactPersons",
    "BankAccountDetails",
    "DefaultCurrency",
    "AccountsReceivableTaxType",
    "AccountsPayableTaxType",
)
STATUSES = {"ACTIVE", "ARCHIVED"}


def _name_taken(tenant: Tenant, name: str, own_id: str | None) -> bool:
    other = tenant.contact_by_name(name)
    return other is not None and other["ContactID"] != own_id


def _unique_name_message(name: str) -> str:
    return (
        f"The contact name {name} is already assigned to another contact. "
        "The contact name must be unique across all active contacts."
    )


def upsert(tenant: Tenant, raw: Any, existing: Record | None, tx: Transaction, now: dt.datetime) -> Record:
    if not isinstance(raw, dict):
        raise ValidationFailure("Contact must be an object")
    contact = copy.deepcopy(existing) if existing else new_contact_record(str(uuid.uuid4()), "", now)
    errors = []
    if "Name" in raw or existing is None:
        name = str(raw.get("Name") or "").strip()
        if not name:
            errors.append("The contact name must be specified.")
        elif len(name) > 255:
            errors.append("The contact name must be 255 characters or fewer.")
        elif _name_taken(tenant, name, contact["ContactID"]):
            errors.append(_unique_name_message(name))
    status = str(raw.get("ContactStatus") or contact["ContactStatus"])
    if status not in STATUSES:
        errors.append(f"'{status}' is not a valid contact status")
    if errors:
        raise ValidationFailure(*errors)
    for key in EDITABLE:
        if key in raw and raw[key] is not None:
            contact[key] = raw[key].strip() if isinstance(raw[key], str) else raw[key]
    contact["ContactStatus"] = status
    contact["UpdatedDateUTC"] = now
    tx.put(tenant.contacts, contact["ContactID"], contact)
    tx.raise_event(tenant.tenant_id, "CONTACT", "UPDATE" if existing else "CREATE", contact["ContactID"])
    return contact


def resolve_for_document(tenant: Tenant, raw: Any, tx: Transaction, now: dt.datetime) -> Record:
    """A document's contact: by ContactID, else by Name (created on the fly when new, as Xero does)."""
    if not isinstance(raw, dict) or not (raw.get("ContactID") or raw.get("Name")):
        raise ValidationFailure("A Contact must be specified for this type of transaction")
    if raw.get("ContactID"):
        contact = tenant.contacts.get(str(raw["ContactID"]))
        if contact is None:
            raise ValidationFailure(f"The contact with ID {raw['ContactID']} could not be found")
        return contact
    existing = tenant.contact_by_name(str(raw["Name"]))
    if existing is not None:
        return existing
    return upsert(tenant, {k: v for k, v in raw.items() if k in EDITABLE}, None, tx, now)


def balances(tenant: Tenant, contact_id: str, today: dt.date) -> Record:
    """Outstanding and overdue, receivable and payable, from open invoices less unallocated credit."""
    result = {
        "AccountsReceivable": {"Outstanding": ZERO, "Overdue": ZERO},
        "AccountsPayable": {"Outstanding": ZERO, "Overdue": ZERO},
    }
    for invoice in tenant.invoices.values():
        if invoice["Contact"]["ContactID"] != contact_id or invoice["Status"] != "AUTHORISED":
            continue
        side = result["AccountsReceivable" if invoice["Type"] == "ACCREC" else "AccountsPayable"]
        side["Outstanding"] += invoice["AmountDue"]
        due = invoice.get("DueDate")
        if due is not None and due < today:
            side["Overdue"] += invoice["AmountDue"]
    for note in tenant.credit_notes.values():
        if note["Contact"]["ContactID"] != contact_id or note["Status"] != "AUTHORISED":
            continue
        side = result["AccountsReceivable" if note["Type"] == "ACCRECCREDIT" else "AccountsPayable"]
        side["Outstanding"] -= note["RemainingCredit"]
    return result


def mark_roles(tenant: Tenant, contact_id: str, doc_type: str, tx: Transaction) -> None:
    """Xero flags a contact as customer or supplier once it has a sale or a purchase."""
    contact = tenant.contacts[contact_id]
    flag = "IsCustomer" if doc_type.startswith("ACCREC") else "IsSupplier"
    if not contact.get(flag):
        tx.put(tenant.contacts, contact_id, {**contact, flag: True})
