"""Invoice behaviour of Dynamics 365 Sales: numbering, line and header amounts, and the paid/canceled lock.

Amounts, as the sandbox computes them (`priceperunit` kept to the organisation's pricing precision, 4 places;
money to the currency's 2 places; every rounding half to even, as Dynamics' .NET Math.Round does; see
`values.round_money`):
- line: baseamount = (priceperunit - volumediscountamount) * quantity (the volume discount is per unit; Microsoft's
  invoicedetail reference: "based on the price per unit, volume discount, and quantity");
  extendedamount = baseamount - manualdiscountamount + tax.
- header: totallineitemamount = sum of (baseamount - manualdiscountamount);
  totallineitemdiscountamount = sum of  manualdiscountamount;
  totaldiscountamount = discountamount + discountpercentage % of totallineitemamount;
  totalamountlessfreight = totallineitemamount - totaldiscountamount; totaltax = sum of  tax;
  totalamount = totalamountlessfreight + freightamount + totaltax.
An existing product's line takes the product's list price unless `ispriceoverridden` is true.
"""

from __future__ import annotations

import random
import string
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sandbox.dataverse.errors import INVALID_ARGUMENT, READ_ONLY_RECORD, bad_request, not_found
from sandbox.dataverse.schema import Table
from sandbox.dataverse.store import Row
from sandbox.dataverse.values import PRICING_PLACES, Ref, money, round_money

if TYPE_CHECKING:
    from sandbox.dataverse.records import Records, WriteContext

ACTIVE, PAID, CANCELED = 0, 2, 3
TOTAL_COLUMNS = (
    "totallineitemamount",
    "totallineitemdiscountamount",
    "totaldiscountamount",
    "totalamountlessfreight",
    "totaltax",
    "totalamount",
)
_HEADER_AMOUNT_INPUTS = frozenset({"discountamount", "discountpercentage", "freightamount"})
_LINE_AMOUNT_INPUTS = frozenset(
    {"quantity", "priceperunit", "manualdiscountamount", "tax", "productid", "ispriceoverridden"}
)
_number_rng = random.Random()


def read_only_error() -> Exception:
    return bad_request(
        "This invoice has been paid or canceled and cannot be modified. Reactivate it first.", READ_ONLY_RECORD
    )


def next_invoice_number(records: Records) -> str:
    """INV-<5-digit sequence>-<6 random letters/digits>, as Dynamics' auto-numbering does."""
    taken = len(records.store.table_rows("invoice"))
    suffix = "".join(_number_rng.choices(string.ascii_uppercase + string.digits, k=6))
    return f"INV-{1001 + taken:05d}-{suffix}"


def _line_amounts(row: Row) -> None:
    row["priceperunit"] = round_money(money(row.get("priceperunit")), PRICING_PLACES)
    for column in ("manualdiscountamount", "tax"):
        if row.get(column) is not None:
            row[column] = round_money(row[column])
    row["volumediscountamount"] = money(row.get("volumediscountamount"))
    unit = row["priceperunit"] - row["volumediscountamount"]
    base = round_money(unit * (row.get("quantity") or Decimal("0")))
    row["baseamount"] = base
    row["extendedamount"] = round_money(base - money(row.get("manualdiscountamount")) + money(row.get("tax")))


def _invoice_totals(records: Records, invoice: Row) -> dict[str, Decimal]:
    ref = Ref("invoice", invoice["invoiceid"])
    lines = [line for line in records.store.table_rows("invoicedetail").values() if line.get("invoiceid") == ref]
    line_total = sum(
        (money(x["baseamount"]) - money(x.get("manualdiscountamount")) for x in lines),
        Decimal("0"),
    )
    line_discounts = sum((money(x.get("manualdiscountamount")) for x in lines), Decimal("0"))
    tax = sum((money(x.get("tax")) for x in lines), Decimal("0"))
    percent = invoice.get("discountpercentage") or Decimal("0")
    # The discount is rounded before it is subtracted, so totalamountlessfreight = lines - totaldiscountamount.
    discount = round_money(money(invoice.get("discountamount")) + line_total * percent / Decimal("100"))
    less_freight = line_total - discount
    totals = {
        "totallineitemamount": line_total,
        "totallineitemdiscountamount": line_discounts,
        "totaldiscountamount": discount,
        "totalamountlessfreight": less_freight,
        "totaltax": tax,
        "totalamount": less_freight + money(invoice.get("freightamount")) + tax,
    }
    return {k: round_money(v) for k, v in totals.items()}


def before_create(records: Records, table: Table, row: Row) -> None:
    if table.logical_name == "invoice":
        if row["statecode"] != ACTIVE:
            raise bad_request("An invoice can only be created in the Active state.", INVALID_ARGUMENT)
        if not row.get("invoicenumber"):
            row["invoicenumber"] = next_invoice_number(records)
        _default_currency(records, row)
        row.update({k: Decimal("0.00") for k in TOTAL_COLUMNS})
        row.update(_invoice_totals(records, row))
    elif table.logical_name == "invoicedetail":
        invoice = _parent_invoice(records, row)
        if invoice["statecode"] != ACTIVE:
            raise read_only_error()
        if row.get("productid") is not None and row.get("isproductoverridden"):
            raise bad_request(
                "A write-in product (isproductoverridden true) cannot also name an existing product.", INVALID_ARGUMENT
            )
        if row.get("productid") is None and not row.get("productdescription"):
            raise bad_request(
                "Either productid or productdescription (a write-in product) must be given.", INVALID_ARGUMENT
            )
        row["isproductoverridden"] = row.get("productid") is None
        row["transactioncurrencyid"] = invoice.get("transactioncurrencyid")
        if row.get("sequencenumber") is None:
            ref = Ref("invoice", invoice["invoiceid"])
            row["sequencenumber"] = 1 + sum(
                1 for x in records.store.table_rows("invoicedetail").values() if x.get("invoiceid") == ref
            )
        _prepare_line(records, row)
    elif table.logical_name in ("contact", "systemuser"):
        _full_name(row)


def _default_currency(records: Records, row: Row) -> None:
    if row.get("transactioncurrencyid") is None:
        price_list = row.get("pricelevelid")
        if price_list is not None:
            row["transactioncurrencyid"] = records.store.get("pricelevel", price_list.id)["transactioncurrencyid"]
        else:
            base = next(
                (
                    r
                    for r in records.store.table_rows("transactioncurrency").values()
                    if r.get("exchangerate") == Decimal("1")
                ),
                None,
            )
            row["transactioncurrencyid"] = Ref("transactioncurrency", base["transactioncurrencyid"]) if base else None
    currency = row.get("transactioncurrencyid")
    if currency is not None:
        row["exchangerate"] = records.store.get("transactioncurrency", currency.id)["exchangerate"]


def _full_name(row: Row) -> None:
    row["fullname"] = " ".join(p for p in (row.get("firstname"), row.get("lastname")) if p) or None


def _parent_invoice(records: Records, line: Row) -> Row:
    ref = line.get("invoiceid")
    invoice = records.store.get("invoice", ref.id) if ref is not None else None
    if invoice is None:
        raise not_found("invoice", ref.id if ref else "")
    return invoice


def _prepare_line(records: Records, row: Row) -> None:
    product_ref = row.get("productid")
    if product_ref is not None:
        product = records.store.get("product", product_ref.id)
        if product["statecode"] != 0:
            raise bad_request("The product is not active and cannot be added to an invoice.", INVALID_ARGUMENT)
        if row.get("uomid") is None:
            row["uomid"] = product.get("defaultuomid")
        if row.get("uomid") is None:
            raise bad_request("The unit is required for an existing product.", INVALID_ARGUMENT)
        if not row.get("ispriceoverridden"):
            row["priceperunit"] = money(product.get("price"))
        row["invoicedetailname"] = product.get("name")
    else:
        row["invoicedetailname"] = row.get("productdescription")
    _line_amounts(row)


def check_editable(records: Records, table: Table, current: Row, normal: Row, state: Row) -> None:
    """Paid and canceled invoices (and their lines) only accept a state change back to Active."""
    locked = table.logical_name == "invoice" and current["statecode"] in (PAID, CANCELED)
    if locked and (normal or state.get("statecode", current["statecode"]) != ACTIVE):
        raise read_only_error()
    if table.logical_name == "invoicedetail" and _parent_invoice(records, current)["statecode"] != ACTIVE:
        raise read_only_error()


def check_state_change(table: Table, current: Row, new_state: int) -> None:
    if table.logical_name == "invoice" and current["statecode"] in (PAID, CANCELED) and new_state != ACTIVE:
        raise read_only_error()


def check_deletable(records: Records, table: Table, row: Row) -> None:
    if table.logical_name == "invoice" and row["statecode"] != ACTIVE:
        raise read_only_error()
    if table.logical_name == "invoicedetail" and _parent_invoice(records, row)["statecode"] != ACTIVE:
        raise read_only_error()


def before_update(records: Records, table: Table, pre: Row, row: Row) -> None:
    if table.logical_name == "invoicedetail" and any(row.get(k) != pre.get(k) for k in _LINE_AMOUNT_INPUTS):
        _prepare_line(records, row)
    elif table.logical_name == "invoice" and any(row.get(k) != pre.get(k) for k in _HEADER_AMOUNT_INPUTS):
        row.update(_invoice_totals(records, row))
    elif table.logical_name in ("contact", "systemuser"):
        _full_name(row)


def after_write(records: Records, table: Table, pre: Row | None, row: Row | None, ctx: WriteContext) -> None:
    """A line change recalculates its invoice, which Dataverse records as an Update of the invoice."""
    if table.logical_name != "invoicedetail":
        return
    line = row or pre
    assert line is not None
    ref: Any = line.get("invoiceid")
    invoice = records.store.get("invoice", ref.id) if ref is not None else None
    if invoice is None:
        return
    totals = _invoice_totals(records, invoice)
    changed = {k: v for k, v in totals.items() if invoice.get(k) != v}
    if changed:
        records.apply(records.schema.tables["invoice"], invoice["invoiceid"], changed, ctx, depth=ctx.depth + 1)
