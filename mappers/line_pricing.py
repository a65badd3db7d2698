"""Quantity, unit amount and discount for one Xero line, so Xero's line amount equals Dynamics' to the cent.

Dynamics stores a line discount as an amount (`manualdiscountamount`; the price list's volume discount is
already inside its `baseamount`); Xero takes a percentage (`DiscountRate`) and only on sales documents. The target is
Dynamics' own net amount (`mappers.rounding`: quantity x price rounded half to even, less the discounts);
Xero rounds quantity x unit amount half away from zero. So:
1. quantity and price as they are, when Xero's rounding of them gives Dynamics' cents (no discount);
2. a sales invoice: the discount as a rate (4 decimal places) when that rate reproduces the amount exactly;
3. otherwise the discount (or the rounding difference) is folded into the unit amount (4 decimal places,
   sent with `unitdp=4`) when quantity x unit amount still rounds to the same cents;
4. failing that, one unit at the line's net amount (as Xero's rounding guide suggests for prices Xero cannot
   hold), so the money is right; or, with `keep_quantity` (the connection adds rounding lines instead), the
   quantity and the nearest 4-decimal unit amount, leaving a cent or so for the rounding line.
Xero keeps 4 decimals of a quantity, so a quantity with more is rounded first (`QUANTITY_PLACES`).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from mappers.rounding import CENT, HUNDRED, UNIT_PLACES, xero_line_amount

__all__ = ["CENT", "UNIT_DECIMAL_PLACES", "PricedLine", "price_line", "to_cents"]

QUANTITY_PLACES = Decimal("0.0001")

# Xero rounds unit amounts to 2 places unless the request asks for 4 with `unitdp=4`; always ask.
UNIT_DECIMAL_PLACES = 4


@dataclass(frozen=True)
class PricedLine:
    quantity: Decimal
    unit_amount: Decimal
    discount_rate: Decimal | None = None

    @property
    def line_amount(self) -> Decimal:
        return xero_line_amount(self.quantity, self.unit_amount, self.discount_rate)


def to_cents(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def price_line(
    quantity: Decimal,
    unit_price: Decimal,
    discount: Decimal,
    *,
    discount_rate_allowed: bool,
    target: Decimal | None = None,
    keep_quantity: bool = False,
) -> PricedLine:
    """`target` is the net amount Dynamics holds for the line (default: quantity x price less the discount,
    rounded as Xero would)."""
    if target is None:
        target = to_cents(quantity * unit_price - discount)
    sent_quantity = quantity.quantize(QUANTITY_PLACES, rounding=ROUND_HALF_UP)
    plain = PricedLine(sent_quantity, unit_price)
    if unit_price == unit_price.quantize(UNIT_PLACES) and plain.line_amount == target:
        return plain
    gross = sent_quantity * unit_price
    if discount and discount_rate_allowed and gross and unit_price == unit_price.quantize(UNIT_PLACES):
        rate = (discount / gross * HUNDRED).quantize(UNIT_PLACES, rounding=ROUND_HALF_UP)
        candidate = PricedLine(sent_quantity, unit_price, rate)
        if Decimal(0) <= rate <= HUNDRED and candidate.line_amount == target:
            return candidate
    if sent_quantity:
        folded = PricedLine(sent_quantity, (target / sent_quantity).quantize(UNIT_PLACES, rounding=ROUND_HALF_UP))
        if folded.line_amount == target or keep_quantity:
            return folded
    return PricedLine(Decimal(1), target)
