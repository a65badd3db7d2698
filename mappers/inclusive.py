"""Tax-inclusive invoices: how Dynamics' own totals are kept honest once Xero has split out the tax.

Dynamics' arithmetic is tax-exclusive: `totalamount` = line amounts - invoice discount + freight + the lines'
`tax`. On an Inclusive invoice the prices already hold the tax, so writing Xero's tax onto the lines as they
are would count it twice. After Xero's answer the connector therefore writes each priced line back without
its tax:

- `tax` = the tax Xero calculated on the line (with its share of the invoice discount's tax);
- the line's net amount = Xero's (tax-inclusive) line amount - that tax: the unit price becomes the
  tax-exclusive price at 4 decimals (`ispriceoverridden`, so the price list does not reset it) and the
  manual discount the tax-exclusive discount; the cents a 4-decimal price cannot carry are added to the
  manual discount, so the line's net amount is exact;
- a percentage invoice discount becomes the same discount as an amount (Dynamics would otherwise recompute
  the percentage on the now tax-exclusive lines).

Dynamics then shows the same subtotal, tax and total as Xero. The next sync sends net amount + tax as the
tax-inclusive line amount (`mappers.xero_invoice.line_target`), which is exactly what Xero held, so the
document does not drift.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from mappers import xero_documents as docs
from mappers.dynamics import Invoice, InvoiceLine
from mappers.rounding import UNIT_PLACES, dynamics_round
from mappers.xero_documents import XeroDocument

ZERO = Decimal("0")


@dataclass(frozen=True)
class ExclusiveLine:
    """What one Dynamics line becomes: its columns to write and its resulting net amount."""

    line_id: str
    price_per_unit: Decimal
    manual_discount: Decimal
    tax: Decimal
    net_amount: Decimal


def exclusive_lines(
    invoice: Invoice,
    line_ids: Sequence[str | None],
    document: XeroDocument,
    taxes: Mapping[str, Decimal],
) -> list[ExclusiveLine]:
    """Each priced Dynamics line sent, without its tax (see the module's docstring)."""
    by_id = {line.id: line for line in invoice.lines}
    converted = []
    for line_id, saved in zip(line_ids, document.line_items or (), strict=False):
        line = by_id.get(line_id) if line_id else None
        if line is None or line.is_note or not line.quantity or saved.line_amount is None:
            continue
        tax = taxes.get(line.id, ZERO)
        converted.append(_exclusive(line, docs.money(saved.line_amount) - tax, tax))
    return converted


def _exclusive(line: InvoiceLine, net: Decimal, tax: Decimal) -> ExclusiveLine:
    gross = line.net_amount + line.tax
    # The manual discount keeps its share of the line, without tax; the volume discount is Dynamics' own.
    discount = dynamics_round(line.manual_discount * net / gross) if gross and line.manual_discount else ZERO
    # Dynamics' base amount is quantity x (price - volume discount per unit); the price is rounded away from
    # the wanted amount, so the base is never short of it, and the cents over are added to the manual discount.
    wanted_per_unit = (net + discount) / line.quantity + line.volume_discount
    rounding = ROUND_CEILING if line.quantity > 0 else ROUND_FLOOR
    price = wanted_per_unit.quantize(UNIT_PLACES, rounding=rounding)
    base = dynamics_round(line.quantity * (price - line.volume_discount))
    return ExclusiveLine(line.id, price, base - net, tax, net)


def new_net_amounts(converted: Sequence[ExclusiveLine]) -> dict[str, Decimal]:
    return {line.line_id: line.net_amount for line in converted}
