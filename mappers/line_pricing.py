"""Quantity, unit amount and discount for one Xero line, so Xero's line amount equals Dynamics' to the cent.

Dynamics stores a line discount as an amount (`manualdiscountamount`); Xero takes a percentage
(`DiscountRate`) and only on sales invoices (ACCREC). So:
1. no discount: quantity and price as they are;
2. a sales invoice: the discount as a rate (4 decimal places) when that rate reproduces the amount exactly;
3. otherwise the discount is folded into the unit amount (4 decimal places, sent with `unitdp=4`) when
   quantity x unit amount still rounds to the same cents;
4. failing that, one unit at the line's net amount, so at least the money is right.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
UNIT_PLACES = Decimal("0.0001")
HUNDRED = Decimal("100")

# Xero rounds unit amounts to 2 places unless the request asks for 4 with `unitdp=4`; always ask.
UNIT_DECIMAL_PLACES = 4


@dataclass(frozen=True)
class PricedLine:
    quantity: Decimal
    unit_amount: Decimal
    discount_rate: Decimal | None = None

    @property
    def line_amount(self) -> Decimal:
        gross = self.quantity * self.unit_amount
        if self.discount_rate:
            gross = gross * (HUNDRED - self.discount_rate) / HUNDRED
        return to_cents(gross)


def to_cents(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def price_line(quantity: Decimal, unit_price: Decimal, discount: Decimal, *, discount_rate_allowed: bool) -> PricedLine:
    plain = PricedLine(quantity, unit_price)
    if not discount:
        return plain
    target = to_cents(quantity * unit_price - discount)
    gross = quantity * unit_price
    if discount_rate_allowed and gross:
        rate = (discount / gross * HUNDRED).quantize(UNIT_PLACES, rounding=ROUND_HALF_UP)
        candidate = PricedLine(quantity, unit_price, rate)
        if Decimal(0) <= rate <= HUNDRED and candidate.line_amount == target:
            return candidate
    if quantity:
        folded = PricedLine(quantity, (target / quantity).quantize(UNIT_PLACES, rounding=ROUND_HALF_UP))
        if folded.line_amount == target:
            return folded
    return PricedLine(Decimal(1), target)
