"""Line items: validation against the tenant's settings and Xero's tax arithmetic."""

from __future__ import annotations

import copy
import uuid
from decimal import Decimal
from typing import Any

from sandbox.xero.errors import ValidationFailure
from sandbox.xero.tenant import Record, Tenant
from sandbox.xero.xjson import money, to_decimal

SALES_TYPES = {"ACCREC", "ACCRECCREDIT"}
LINE_AMOUNT_TYPES = {"Exclusive", "Inclusive", "NoTax"}
HUNDRED = Decimal(100)
_PRICED_FIELDS = ("Quantity", "UnitAmount", "ItemCode", "AccountCode")
# Rounding lines are coded to the rounding account (community.xero.com/developer/discussion/66891: "add
# additional line items for the difference and code it to a rounding account (860)"). Unconfirmed whether
# Xero accepts other system accounts on lines: the sandbox refuses them.
_SYSTEM_ACCOUNTS_ON_LINES = ("ROUNDING",)
# Xero keeps 4 decimals of a quantity (the same community answer: "we accept 4dp for quantity").
QUANTITY_PLACES = Decimal("0.0001")


def _is_note(line: Record) -> bool:
    """A line with only a Description is a note line: no amount, no account, no tax."""
    if line.get("LineAmount") not in (None, "", 0):
        return False
    return not any(line.get(key) not in (None, "") for key in _PRICED_FIELDS)


def _tracking(tenant: Tenant, raw: Any) -> list[Record]:
    if raw in (None, []):
        return []
    if not isinstance(raw, list):
        raise ValidationFailure("Tracking must be a list")
    if len(raw) > 2:
        raise ValidationFailure("A maximum of 2 tracking categories can be applied to a line item")
    result: list[Record] = []
    for entry in raw:
        entry = entry if isinstance(entry, dict) else {}
        category = None
        if entry.get("TrackingCategoryID"):
            category = next(
                (c for c in tenant.tracking_categories if c["TrackingCategoryID"] == entry["TrackingCategoryID"]), None
            )
        elif entry.get("Name"):
            category = tenant.tracking_category(str(entry["Name"]))
        if category is None or category["Status"] != "ACTIVE":
            raise ValidationFailure(
                f"Tracking category '{entry.get('Name') or entry.get('TrackingCategoryID')}' is not valid"
            )
        if any(t["TrackingCategoryID"] == category["TrackingCategoryID"] for t in result):
            raise ValidationFailure(f"Tracking category '{category['Name']}' can only be used once per line")
        wanted_option = entry.get("Option") or entry.get("TrackingOptionID")
        option = next(
            (
                o
                for o in category["Options"]
                if o["Status"] == "ACTIVE"
                and (o["TrackingOptionID"] == wanted_option or o["Name"].lower() == str(wanted_option).lower())
            ),
            None,
        )
        if option is None:
            raise ValidationFailure(
                f"The TrackingOption '{wanted_option}' is not valid for TrackingCategory '{category['Name']}'"
            )
        result.append(
            {
                "Name": category["Name"],
                "Option": option["Name"],
                "TrackingCategoryID": category["TrackingCategoryID"],
                "TrackingOptionID": option["TrackingOptionID"],
            }
        )
    return result


def _number(line: Record, key: str) -> Decimal | None:
    if line.get(key) in (None, ""):
        return None
    try:
        return to_decimal(line[key])
    except ValueError as exc:
        raise ValidationFailure(f"{key} must be a number") from exc


def build_line(
    tenant: Tenant,
    doc_type: str,
    amount_types: str,
    raw: Record,
    previous: Record | None,
    unit_places: Decimal,
    approved: bool,
) -> Record:
    """A stored line from a request line, keeping the LineItemID when the caller sent a known one."""
    sent = {k: v for k, v in raw.items() if k not in ("LineAmount", "TaxAmount") or v is not None}
    merged = {**copy.deepcopy(previous), **sent} if previous else dict(sent)
    line_id = previous["LineItemID"] if previous else str(uuid.uuid4())
    description = merged.get("Description") or ""
    tracking = _tracking(tenant, merged.get("Tracking"))
    if _is_note(merged):
        if not description:
            raise ValidationFailure("Description must be specified for a line item")
        return {
            "LineItemID": line_id,
            "Description": description,
            "LineAmount": Decimal("0.00"),
            "TaxAmount": Decimal("0.00"),
            "Tracking": tracking,
        }

    sales = doc_type in SALES_TYPES
    line: Record = {"LineItemID": line_id, "Description": description, "Tracking": tracking}
    item = None
    if merged.get("ItemCode"):
        item = tenant.item_by_code(str(merged["ItemCode"]))
        if item is None:
            raise ValidationFailure(f"Item code '{merged['ItemCode']}' is not valid")
        line["ItemCode"] = item["Code"]
        line["Item"] = {"ItemID": item["ItemID"], "Name": item["Name"], "Code": item["Code"]}
    details = (item or {}).get("SalesDetails" if sales else "PurchaseDetails") or {}

    quantity = _number(merged, "Quantity")
    unit_amount = _number(merged, "UnitAmount")
    line_amount_sent = _number(sent, "LineAmount")
    if unit_amount is None and details.get("UnitPrice") is not None:
        unit_amount = Decimal(str(details["UnitPrice"]))
    if quantity is None and unit_amount is None and line_amount_sent is not None:
        quantity, unit_amount = Decimal(1), line_amount_sent
    quantity = Decimal(1) if quantity is None else money(quantity, QUANTITY_PLACES)
    unit_amount = money(unit_amount if unit_amount is not None else Decimal(0), unit_places)

    discount = _number(merged, "DiscountRate")
    if discount is not None and discount != 0:
        if not sales:
            raise ValidationFailure("Discounts are only supported on sales invoices and credit notes")
        if not 0 <= discount <= HUNDRED:
            raise ValidationFailure("Discount rate must be between 0 and 100")
        line["DiscountRate"] = discount

    account_code = merged.get("AccountCode") or details.get("AccountCode")
    account = None
    if account_code:
        account = tenant.account_by_code(str(account_code))
        if (
            account is None
            or account["Status"] != "ACTIVE"
            or account["Type"] == "BANK"
            or account.get("SystemAccount") not in (None, "", *_SYSTEM_ACCOUNTS_ON_LINES)
        ):
            raise ValidationFailure(f"Account code '{account_code}' is not a valid code for this document.")
        line["AccountCode"] = account["Code"]
        line["AccountID"] = account["AccountID"]
    elif approved:
        raise ValidationFailure("Account code must be specified")

    if amount_types == "NoTax":
        tax_type = "NONE"
    else:
        tax_type = merged.get("TaxType") or details.get("TaxType") or (account or {}).get("TaxType") or "NONE"
    rate_record = tenant.tax_rate(str(tax_type))
    allowed = (
        rate_record is not None
        and rate_record["Status"] == "ACTIVE"
        and (rate_record["CanApplyToRevenue"] if sales else rate_record["CanApplyToExpenses"])
    )
    if not allowed:
        raise ValidationFailure(
            f"The TaxType code '{tax_type}' does not exist or cannot be used for this type of transaction."
        )
    if account is not None and rate_record is not None and not _applies_to(rate_record, account):
        # Xero checks the rate against the account's class (TaxRate.CanApplyTo<Class>; developer.xero.com
        # /documentation/api/accounting/taxrates) and answers in these words (XeroAPI/Xero-Java#336).
        raise ValidationFailure(f"The TaxType code '{tax_type}' cannot be used with account code '{account['Code']}'.")

    gross = quantity * unit_amount
    if discount:
        gross = gross * (HUNDRED - discount) / HUNDRED
    line_amount = money(gross)
    if line_amount_sent is not None and abs(line_amount_sent - line_amount) > Decimal("0.01"):
        raise ValidationFailure(
            f"The line total {line_amount_sent} does not match the expected line total {line_amount}"
        )
    rate = Decimal(str(rate_record["EffectiveRate"])) / HUNDRED
    if amount_types == "Exclusive":
        tax = money(line_amount * rate)
    elif amount_types == "Inclusive":
        tax = money(line_amount - line_amount / (1 + rate))
    else:
        tax = Decimal("0.00")
    line.update(Quantity=quantity, UnitAmount=unit_amount, TaxType=tax_type, TaxAmount=tax, LineAmount=line_amount)
    return line


# Account.Class -> the TaxRate flag that allows a rate on accounts of that class.
_CLASS_FLAGS = {
    "ASSET": "CanApplyToAssets",
    "EQUITY": "CanApplyToEquity",
    "EXPENSE": "CanApplyToExpenses",
    "LIABILITY": "CanApplyToLiabilities",
    "REVENUE": "CanApplyToRevenue",
}


def _applies_to(rate: Record, account: Record) -> bool:
    flag = _CLASS_FLAGS.get(str(account.get("Class") or "").upper())
    return flag is None or bool(rate.get(flag))


def build_lines(
    tenant: Tenant,
    doc_type: str,
    amount_types: str,
    raw_lines: Any,
    old_lines: list[Record],
    unit_places: Decimal,
    approved: bool,
) -> list[Record]:
    if not isinstance(raw_lines, list):
        raise ValidationFailure("LineItems must be a list")
    by_id = {line["LineItemID"]: line for line in old_lines}
    built: list[Record] = []
    errors: list[str] = []
    for raw in raw_lines:
        if not isinstance(raw, dict):
            errors.append("A line item must be an object")
            continue
        previous = by_id.get(str(raw.get("LineItemID"))) if raw.get("LineItemID") else None
        try:
            built.append(build_line(tenant, doc_type, amount_types, raw, previous, unit_places, approved))
        except ValidationFailure as failure:
            errors.extend(failure.messages)
    if errors:
        raise ValidationFailure(*errors)
    return built


def totals(lines: list[Record], amount_types: str) -> tuple[Decimal, Decimal, Decimal, Decimal]:
    """SubTotal, TotalTax, Total and TotalDiscount, summed from rounded lines as Xero does."""
    line_sum = sum((line["LineAmount"] for line in lines), Decimal("0.00"))
    tax = sum((line["TaxAmount"] for line in lines), Decimal("0.00"))
    discount = Decimal("0.00")
    for line in lines:
        if line.get("DiscountRate"):
            discount += money(line["Quantity"] * line["UnitAmount"]) - line["LineAmount"]
    if amount_types == "Inclusive":
        return line_sum - tax, tax, line_sum, discount
    return line_sum, tax, line_sum + tax, discount
