"""Do Dynamics and Xero hold the same money for a document? Pure comparison, in a finance user's words.

    dynamics = dynamics_totals_after(invoice, new_line_taxes)      # what Dynamics holds after the write-back
    xero = xero_totals(saved_document)
    check = compare_totals(dynamics, xero, causes=known_causes)
    if (line := rounding_line(check, connection, blocked=bool(causes))) is not None:
        document = with_rounding_line(plan, saved_document, line)   # send it, then compare again

Dynamics' comparable figures: subtotal = `totalamountlessfreight` + `freightamount` (Dynamics' line amounts
less the invoice discount, plus freight), tax = `totaltax` (the sum of the lines' `tax`), total =
`totalamount`. Xero's: `SubTotal`, `TotalTax`, `Total`. Equal to the cent: MATCH. Equal because of a rounding
line the connector added: ROUNDING_LINE. Anything else: DIFFER, with both figures and the cause.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from xero_python.accounting import CreditNote, LineItem

from app.dynamics_schema import RoundingMode, TotalsStatus
from mappers import xero_documents as docs
from mappers.dynamics import ConnectionSettings, Invoice
from mappers.invoice_money import NO_TAX, discount_tax_shares, invoice_discount
from mappers.xero_documents import XeroDocument
from mappers.xero_invoice import SendDocument

ZERO = Decimal("0")
ROUNDING_TEXT = "Rounding"
ROUNDING_CAUSE = "Xero rounds each line and its tax to 2 decimals"


@dataclass(frozen=True)
class Totals:
    sub_total: Decimal
    total_tax: Decimal
    total: Decimal


@dataclass(frozen=True)
class TotalsCheck:
    status: TotalsStatus
    dynamics: Totals
    xero: Totals
    difference: str  # empty when the totals match
    rounding_amount: Decimal = ZERO  # the rounding line's amount, when one made them match

    @property
    def total_gap(self) -> Decimal:
        """What Xero's total must move by to equal Dynamics'."""
        return self.dynamics.total - self.xero.total


def xero_totals(document: XeroDocument) -> Totals:
    return Totals(
        sub_total=docs.money(document.sub_total),
        total_tax=docs.money(document.total_tax),
        total=docs.money(document.total),
    )


def dynamics_totals_after(
    invoice: Invoice, line_taxes: Mapping[str, Decimal], line_nets: Mapping[str, Decimal] | None = None
) -> Totals:
    """Dynamics' totals once the line taxes in `line_taxes` (and net amounts in `line_nets`, by line id) are
    written; other lines keep theirs, the invoice discount stays what it is.

    Dynamics recalculates `totaltax` as the sum of the lines' tax and `totalamount` as subtotal + tax."""
    nets = line_nets or {}
    if invoice.total_amount_less_freight is not None:
        less_freight = invoice.total_amount_less_freight
    else:
        less_freight = sum((line.net_amount for line in invoice.lines), ZERO) - invoice_discount(invoice)
    less_freight += sum((nets[line.id] - line.net_amount for line in invoice.lines if line.id in nets), ZERO)
    sub_total = less_freight + invoice.freight_amount
    tax = sum((line_taxes.get(line.id, line.tax) for line in invoice.lines), ZERO)
    return Totals(sub_total=sub_total, total_tax=tax, total=sub_total + tax)


def compare_totals(
    dynamics: Totals, xero: Totals, *, causes: Sequence[str] = (), rounding_amount: Decimal = ZERO
) -> TotalsCheck:
    """MATCH when all three agree; ROUNDING_LINE when the totals agree thanks to `rounding_amount`;
    otherwise DIFFER, worded with both figures and the causes (or Xero's rounding when none is known)."""
    if dynamics == xero and not rounding_amount:
        return TotalsCheck(TotalsStatus.MATCH, dynamics, xero, "")
    if rounding_amount and dynamics.total == xero.total:
        words = (
            f"Xero's total equals Dynamics' ({_amount(xero.total)}) after a rounding line of "
            f"{_amount(rounding_amount)}: {ROUNDING_CAUSE}."
        )
        return TotalsCheck(TotalsStatus.ROUNDING_LINE, dynamics, xero, words, rounding_amount)
    return TotalsCheck(TotalsStatus.DIFFER, dynamics, xero, _difference_words(dynamics, xero, causes))


def rounding_line(check: TotalsCheck, connection: ConnectionSettings, *, blocked: bool) -> LineItem | None:
    """The line that makes Xero's total equal Dynamics', when the connection asks for one and the gap is a
    rounding gap: within the tolerance and not explained by something else (`blocked`)."""
    gap = check.total_gap
    if (
        check.status is not TotalsStatus.DIFFER
        or blocked
        or connection.rounding_mode is not RoundingMode.ROUNDING_LINE
        or not connection.rounding_account_code
        or not gap
        or abs(gap) > connection.rounding_tolerance
    ):
        return None
    return LineItem(
        description=ROUNDING_TEXT,
        quantity=Decimal(1),
        unit_amount=gap,
        account_code=connection.rounding_account_code,
        tax_type=NO_TAX,
    )


def _difference_words(dynamics: Totals, xero: Totals, causes: Sequence[str]) -> str:
    parts = []
    for label, ours, theirs in (
        ("Total", dynamics.total, xero.total),
        ("Tax", dynamics.total_tax, xero.total_tax),
        ("Subtotal", dynamics.sub_total, xero.sub_total),
    ):
        if ours != theirs:
            parts.append(f"{label}: Xero {_amount(theirs)}, Dynamics {_amount(ours)}")
    reasons = list(causes) or [ROUNDING_CAUSE]
    return f"The totals differ. {'; '.join(parts)}. Why: {'; '.join(reasons)}."


def _amount(value: Decimal) -> str:
    return f"{value:,.2f}"


# ---------------------------------------------------------------------------------------------------
# After a write: the line taxes Dynamics gets, what explains a difference, and the rounding line's document
# ---------------------------------------------------------------------------------------------------


def line_taxes_after(invoice: Invoice, plan: SendDocument, document: XeroDocument) -> dict[str, Decimal]:
    """The `tax` each Dynamics line should hold so Dynamics' total tax is Xero's (freight aside).

    A line gets the tax Xero calculated on it plus its share of the (negative) tax on its invoice-discount
    line, so each line shows its tax after the invoice discount. Lines not sent (unpriced bundle parts)
    get 0. (On a tax-inclusive document the lines are also written without their tax: `mappers.inclusive`.)"""
    saved = list(document.line_items or ())
    taxes: dict[str, Decimal] = {line.id: ZERO for line in invoice.lines if line.tax}
    for line_id, line in zip(plan.line_ids, saved, strict=False):
        if line_id is not None and line.tax_amount is not None:
            taxes[line_id] = docs.money(line.tax_amount)
    for position, share in () if plan.restricted else plan.discount_shares:
        if position < len(saved) and saved[position].tax_amount is not None:
            for line_id, part in discount_tax_shares(share, docs.money(saved[position].tax_amount)).items():
                taxes[line_id] = taxes.get(line_id, ZERO) + part
    return taxes


def known_causes(plan: SendDocument, document: XeroDocument) -> list[str]:
    """Reasons, in a finance user's words, why the totals cannot match whatever the rounding."""
    saved = list(document.line_items or ())
    causes = []
    if not plan.restricted and plan.freight_position is not None and plan.freight_position < len(saved):
        freight_tax = docs.money(saved[plan.freight_position].tax_amount)
        if freight_tax:
            causes.append(f"Freight tax {_amount(freight_tax)} has no place in Dynamics totals")
    if plan.restricted and any("not sent" in note for note in plan.notes):
        causes.append("Xero kept the amounts of the paid invoice")
    return causes


def with_rounding_line(plan: SendDocument, saved: XeroDocument, line: LineItem) -> XeroDocument:
    """The document just saved, once more, with the rounding line added (every saved line kept by its id)."""
    document = copy.deepcopy(plan.document)
    if isinstance(document, CreditNote):
        document.credit_note_id = docs.document_id(saved)
    else:
        document.invoice_id = docs.document_id(saved)
    for item, kept in zip(document.line_items or (), saved.line_items or (), strict=False):
        item.line_item_id = kept.line_item_id
    document.line_items = [*(document.line_items or ()), line]
    return document
