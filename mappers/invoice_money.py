"""The invoice-level money of a Dynamics invoice as Xero lines: the invoice discount and freight.

Dynamics keeps both on the invoice header (`discountamount` / `discountpercentage`, `freightamount`); Xero
has no header fields for them, so each becomes lines:

- The invoice discount (Dynamics' `totaldiscountamount`: the amount plus the percentage of the line total,
  rounded half to even) is split over the groups of lines that share an account code and tax type, in
  proportion to their net amounts, in whole cents; the cents the split leaves over go to the largest groups
  first, so the discount lines add up to exactly Dynamics' discount. Each group gets one negative line with
  the group's account and tax type, so Xero taxes every rate on its discounted amount.
- Freight is one line on the connection's freight account (else the default sales or purchase account)
  with the connection's freight tax type, else NONE: Dynamics never taxes freight, so a taxed freight line
  leaves a difference the totals check names.

`DiscountShare` records which Dynamics lines a discount line covers, so the (negative) tax Xero calculates
on it can be spread back over those lines (`discount_tax_shares`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from xero_python.accounting import LineItem

from mappers.dynamics import ConnectionSettings, Invoice, XeroDocumentType
from mappers.rounding import CENT, HUNDRED, dynamics_round

ZERO = Decimal("0")
NO_TAX = "NONE"
FREIGHT_TEXT = "Freight"
DISCOUNT_TEXT = "Invoice discount"


@dataclass(frozen=True)
class DiscountShare:
    """One discount line: the Dynamics lines (ids) it was allocated over, and their net amounts."""

    line_ids: tuple[str, ...]
    weights: tuple[Decimal, ...]


@dataclass(frozen=True)
class SentLine:
    """A Dynamics line as it went to Xero: its id and the Xero line built for it."""

    line_id: str
    item: LineItem
    net_amount: Decimal


def allocate(amount: Decimal, weights: Sequence[Decimal]) -> list[Decimal]:
    """`amount` split in proportion to `weights`, in whole cents, summing to `amount` exactly.

    Each share is first rounded down to the cent; the cents left over go one by one to the
    shares with the largest remainders (ties: the larger weight, then the earlier position)."""
    total_weight = sum(weights, ZERO)
    if not weights:
        return []
    if total_weight == 0:
        return [amount, *([ZERO] * (len(weights) - 1))]
    sign = Decimal(1) if amount >= 0 else Decimal(-1)
    cents = int((abs(amount) / CENT).to_integral_value())
    exact = [Decimal(cents) * weight / total_weight for weight in weights]
    # Floors (not truncation) keep every remainder in [0, 1) even for a negative weight (a credit line), so
    # the cents left over are between 0 and the number of shares.
    floors = [math.floor(value) for value in exact]
    left = cents - sum(floors)
    order = sorted(range(len(weights)), key=lambda i: (-(exact[i] - floors[i]), -weights[i], i))
    for index in order[:left]:
        floors[index] += 1
    return [sign * Decimal(value) * CENT for value in floors]


def invoice_discount(invoice: Invoice) -> Decimal:
    """Dynamics' header discount: its own `totaldiscountamount` when read, else the same arithmetic."""
    if invoice.total_discount_amount is not None:
        return invoice.total_discount_amount
    line_total = sum((line.net_amount for line in invoice.lines), ZERO)
    return dynamics_round(invoice.discount_amount + line_total * invoice.discount_percentage / HUNDRED)


def discount_lines(invoice: Invoice, sent: Sequence[SentLine]) -> list[tuple[LineItem, DiscountShare]]:
    """One negative line per (account code, tax type) group of priced lines, together worth the discount."""
    discount = invoice_discount(invoice)
    priced = [line for line in sent if line.item.quantity is not None or line.item.unit_amount is not None]
    if not discount or not priced:
        return []
    groups: dict[tuple[str | None, str | None], list[SentLine]] = {}
    for line in priced:
        groups.setdefault((line.item.account_code, line.item.tax_type), []).append(line)
    keys = list(groups)
    weights = [sum((line.net_amount for line in groups[key]), ZERO) for key in keys]
    shares = allocate(discount, weights)
    text = _discount_text(invoice)
    result = []
    for key, share in zip(keys, shares, strict=True):
        if not share:
            continue
        account_code, tax_type = key
        members = groups[key]
        item = LineItem(
            description=text, quantity=Decimal(1), unit_amount=-share, account_code=account_code, tax_type=tax_type
        )
        result.append((item, DiscountShare(tuple(m.line_id for m in members), tuple(m.net_amount for m in members))))
    return result


def freight_line(invoice: Invoice, connection: ConnectionSettings, document_type: XeroDocumentType) -> LineItem | None:
    if not invoice.freight_amount:
        return None
    return LineItem(
        description=FREIGHT_TEXT,
        quantity=Decimal(1),
        unit_amount=invoice.freight_amount,
        account_code=connection.freight_account_code or connection.default_account_code(document_type),
        tax_type=connection.freight_tax_type or NO_TAX,
    )


def discount_tax_shares(share: DiscountShare, discount_tax: Decimal) -> dict[str, Decimal]:
    """The tax Xero put on one discount line, spread over the Dynamics lines it covers (exact to the cent)."""
    return dict(zip(share.line_ids, allocate(discount_tax, list(share.weights)), strict=True))


def _discount_text(invoice: Invoice) -> str:
    if invoice.discount_percentage and not invoice.discount_amount:
        return f"{DISCOUNT_TEXT} ({invoice.discount_percentage.normalize():f}%)"
    return DISCOUNT_TEXT
