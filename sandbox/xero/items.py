"""Items (products and services): unique codes, optional sales and purchase defaults."""

from __future__ import annotations

import copy
import datetime as dt
import uuid
from typing import Any

from sandbox.xero.errors import ValidationFailure
from sandbox.xero.tenant import Record, Tenant
from sandbox.xero.transaction import Transaction
from sandbox.xero.xjson import to_decimal

EDITABLE = ("Code", "Name", "Description", "PurchaseDescription", "IsSold", "IsPurchased")


def _details(tenant: Tenant, raw: Any, label: str) -> Record:
    if not isinstance(raw, dict):
        raise ValidationFailure(f"{label} must be an object")
    details: Record = {}
    if raw.get("UnitPrice") is not None:
        try:
            details["UnitPrice"] = to_decimal(raw["UnitPrice"])
        except ValueError as exc:
            raise ValidationFailure(f"{label}.UnitPrice must be a number") from exc
    if raw.get("AccountCode"):
        account = tenant.account_by_code(str(raw["AccountCode"]))
        if account is None or account["Status"] != "ACTIVE":
            raise ValidationFailure(f"Account code '{raw['AccountCode']}' is not a valid code for this document.")
        details["AccountCode"] = account["Code"]
    if raw.get("TaxType"):
        if tenant.tax_rate(str(raw["TaxType"])) is None:
            raise ValidationFailure(f"The TaxType code '{raw['TaxType']}' does not exist.")
        details["TaxType"] = raw["TaxType"]
    return details


def upsert(tenant: Tenant, raw: Any, existing: Record | None, tx: Transaction, now: dt.datetime) -> Record:
    if not isinstance(raw, dict):
        raise ValidationFailure("Item must be an object")
    item = (
        copy.deepcopy(existing)
        if existing
        else {"ItemID": str(uuid.uuid4()), "IsSold": True, "IsPurchased": True, "IsTrackedAsInventory": False}
    )
    code = str(raw.get("Code", item.get("Code", "")) or "").strip()
    if not code:
        raise ValidationFailure("Item code must be specified")
    if len(code) > 30:
        raise ValidationFailure("Item code must be 30 characters or fewer")
    other = tenant.item_by_code(code)
    if other is not None and other["ItemID"] != item["ItemID"]:
        raise ValidationFailure(f"Item code '{code}' already exists")
    for key in EDITABLE:
        if key in raw and raw[key] is not None:
            item[key] = raw[key]
    item["Code"] = code
    for key in ("SalesDetails", "PurchaseDetails"):
        if raw.get(key) is not None:
            item[key] = _details(tenant, raw[key], key)
    item["UpdatedDateUTC"] = now
    tx.put(tenant.items, item["ItemID"], item)
    return item


def find(tenant: Tenant, key: str) -> Record | None:
    return tenant.items.get(key) or tenant.item_by_code(key)
