"""The money Dynamics gets back after a write to Xero, for one invoice (pure, so a batch can call it per member).

money = write_back_money(invoice, connection, plan, saved_document)
money.taxes       # line id -> the tax the line should hold (`mappers.totals.line_taxes_after`)
money.converted   # tax-inclusive invoices: each line without its tax (`mappers.inclusive`)
money.invoice_body  # header columns to change with them (a percentage discount kept as its amount)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from mappers.dynamics import ConnectionSettings, Invoice
from mappers.inclusive import ExclusiveLine, exclusive_lines
from mappers.invoice_money import invoice_discount
from mappers.totals import line_taxes_after
from mappers.writeback import discount_as_amount
from mappers.xero_documents import XeroDocument
from mappers.xero_invoice import SendDocument, is_inclusive


@dataclass(frozen=True)
class WriteBack:
    taxes: Mapping[str, Decimal]
    converted: Sequence[ExclusiveLine] = ()
    invoice_body: Mapping[str, Any] = field(default_factory=dict)


def write_back_money(
    invoice: Invoice, connection: ConnectionSettings, plan: SendDocument, document: XeroDocument
) -> WriteBack:
    taxes = line_taxes_after(invoice, plan, document)
    if plan.restricted or not is_inclusive(invoice, connection):
        return WriteBack(taxes)
    converted = exclusive_lines(invoice, plan.line_ids, document, taxes)
    return WriteBack(taxes, converted, discount_as_amount(invoice, invoice_discount(invoice)))
