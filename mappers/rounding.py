"""How each side rounds money, in one place, so the connector predicts both instead of guessing.

Dynamics 365 (Sales)
- Money columns are kept to the currency's precision (`transactioncurrency.currencyprecision`, 2 for GBP/USD);
  price columns (`priceperunit`, list prices) to the organisation's Pricing Decimal Precision (0-4).
  Source: Microsoft Learn, "Decimal precision in currency and pricing" (dynamics365/sales/
  decimal-precision-currency-pricing) and MoneyAttributeMetadata.PrecisionSource.
- Calculated amounts (`baseamount` = price x quantity, the header totals, the percentage discount) are
  rounded with .NET's `Math.Round`, whose default is banker's rounding (half to even): 11.725 -> 11.72,
  0.235 -> 0.24. Source: PowerObjects, "Rounding numbers in Microsoft Dynamics CRM" (the pricing engine uses
  System.Math.Round), and .NET's MidpointRounding.ToEven default.
- Tax is not calculated by Dynamics: `totaltax` is the sum of the lines' `tax`, and `totalamount` =
  `totalamountlessfreight` + `freightamount` + `totaltax` (Dynamics never taxes freight or applies the
  invoice discount to the lines' tax).

Xero
- Each line is rounded to 2 decimals (`LineAmount` = quantity x unit amount, less the discount rate), tax is
  calculated per line on that amount and rounded to 2 decimals, and the totals are sums of the rounded lines.
  Midpoints round away from zero (2.165 -> 2.17). Unit amounts keep 4 decimals when the request says
  `unitdp=4`, else 2. Source: developer.xero.com "Rounding in Xero" (api-guides/rounding-in-xero) and
  Xero's developer community answer on its tax rounding (community.xero.com/developer/discussion/66891).
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
UNIT_PLACES = Decimal("0.0001")
HUNDRED = Decimal("100")


def dynamics_round(amount: Decimal, places: Decimal = CENT) -> Decimal:
    """Dynamics' rounding of a calculated amount: .NET Math.Round, half to even."""
    return amount.quantize(places, rounding=ROUND_HALF_EVEN)


def xero_round(amount: Decimal, places: Decimal = CENT) -> Decimal:
    """Xero's rounding of a line amount or a line's tax: half away from zero (Decimal's ROUND_HALF_UP)."""
    return amount.quantize(places, rounding=ROUND_HALF_UP)


def xero_line_amount(quantity: Decimal, unit_amount: Decimal, discount_rate: Decimal | None = None) -> Decimal:
    """The LineAmount Xero calculates from what a line sends (unit amount already at 4 decimals)."""
    gross = quantity * unit_amount
    if discount_rate:
        gross = gross * (HUNDRED - discount_rate) / HUNDRED
    return xero_round(gross)
