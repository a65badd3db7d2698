"""Generated invoices pushed through the whole stack, and the totals invariant checked on each.

Shared by the property test (`test_money_properties.py`, a few examples) and the benchmark
(`benchmarks/money.py`, many). An invoice is generated (document type, line amount type, currency, 1-12
lines with decimal quantities, 2- and 4-decimal prices, line discounts, tax rate overrides, an invoice
discount as a percentage or an amount, freight), created in the sandbox Dataverse as a person would, synced
by the real webhook -> worker -> sandbox Xero -> write-back path, and then `check_invariant` reads both
sides back: Xero's SubTotal/TotalTax/Total equal Dynamics' subtotal/tax/total, or the outcome is not a
Success and names both figures.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from hypothesis import strategies as st

from app import dynamics_schema as schema
from app.dynamics_schema import InvoiceType, LineAmountTypes, RoundingMode, SyncStatus, TotalsStatus
from sandbox.dataverse.seed import ACCOUNT_IDS, PRICE_LIST_ID, USD_PRICE_LIST_ID
from tests.e2e.harness import Harness

SALES_RATES = ("OUTPUT2", "RROUTPUT", "ZERORATEDOUTPUT")
PURCHASE_RATES = ("INPUT2", "RRINPUT", "ZERORATEDINPUT")
ROUNDING_ACCOUNT = "860"
_TAX_RATE_LOOKUP = schema.lookup("invoicedetail", schema.INVOICE_LINE_TAX_RATE)
_REFERENCE_CONNECTION = schema.lookup(schema.TAX_RATE_TABLE.logical_name, schema.REFERENCE_CONNECTION)


@dataclass(frozen=True)
class LineSpec:
    quantity: Decimal
    price: Decimal
    discount_share: Decimal  # of the line's base amount, 0..0.5
    rate: int | None  # index into the document's rates; None: the account's default


@dataclass(frozen=True)
class InvoiceSpec:
    invoice_type: InvoiceType
    amount_types: LineAmountTypes
    usd: bool
    lines: tuple[LineSpec, ...]
    discount_percentage: Decimal
    discount_share: Decimal  # an amount discount, as a share of the line total
    freight: Decimal
    taxed_freight: bool
    rounding_lines: bool


def _decimal(low: int, high: int, places: int) -> st.SearchStrategy[Decimal]:
    scale = 10**places
    return st.integers(low * scale // 100, high * scale).map(lambda n: Decimal(n) / scale)


quantities = st.one_of(
    st.integers(1, 12).map(Decimal),
    st.integers(1, 2).flatmap(lambda places: _decimal(1, 40, places)),
    _decimal(100, 900, 3),  # large decimal quantities: where no 4-decimal unit amount is exact
    _decimal(100, 900, 3),
    _decimal(1, 3, 5),  # Dynamics keeps 5 decimals of a quantity, Xero 4
).filter(lambda q: q > 0)
prices = st.one_of(_decimal(1, 2000, 2), _decimal(1, 200, 4)).filter(lambda p: p > 0)
line_specs = st.builds(
    LineSpec,
    quantity=quantities,
    price=prices,
    discount_share=st.one_of(st.just(Decimal(0)), _decimal(1, 50, 3).map(lambda d: d / 100)),
    rate=st.one_of(st.none(), st.integers(0, 2)),
)
invoice_specs = st.builds(
    InvoiceSpec,
    invoice_type=st.sampled_from(list(InvoiceType)),
    amount_types=st.sampled_from(list(LineAmountTypes)),
    usd=st.booleans(),
    lines=st.lists(line_specs, min_size=1, max_size=12).map(tuple),
    discount_percentage=st.one_of(st.just(Decimal(0)), _decimal(0, 30, 2)),
    discount_share=st.one_of(st.just(Decimal(0)), _decimal(0, 40, 2).map(lambda d: d / 100)),
    freight=st.one_of(st.just(Decimal(0)), _decimal(0, 80, 2)),
    taxed_freight=st.booleans(),
    rounding_lines=st.booleans(),
)


class MoneyStack:
    """A harness with the tax rates a line can choose and the outcome counts of every invoice pushed."""

    def __init__(self, harness: Harness) -> None:
        self.harness = harness
        self.outcomes: Counter[str] = Counter()
        self.tax_rate_ids = {tax_type: self._tax_rate(tax_type) for tax_type in (*SALES_RATES, *PURCHASE_RATES)}

    def _tax_rate(self, tax_type: str) -> str:
        body = {
            schema.REFERENCE_NAME: tax_type,
            schema.TAX_RATE_TAX_TYPE: tax_type,
            **schema.bind(_REFERENCE_CONNECTION, self.harness.connection_id),
        }
        return str(
            self.harness.connector.create(schema.TAX_RATE_ENTITY_SET, body)[f"{schema.TAX_RATE_TABLE.logical_name}id"]
        )

    def push(self, spec: InvoiceSpec) -> str:
        """Create the invoice as a person would, then let the connector sync it; returns its id."""
        h = self.harness
        sales = spec.invoice_type in (InvoiceType.SALES_INVOICE, InvoiceType.SALES_CREDIT_NOTE)
        rates = SALES_RATES if sales else PURCHASE_RATES
        h.set_connection_settings(
            **{
                schema.CONNECTION_FREIGHT_TAX_TYPE: rates[0] if spec.taxed_freight else None,
                schema.CONNECTION_ROUNDING_MODE: int(
                    RoundingMode.ROUNDING_LINE if spec.rounding_lines else RoundingMode.REPORT
                ),
                schema.CONNECTION_ROUNDING_ACCOUNT_CODE: ROUNDING_ACCOUNT,
            }
        )
        line_total = sum((_base(line) - _discount(line) for line in spec.lines), Decimal(0))
        body: dict[str, Any] = {
            "name": "Generated invoice",
            "customerid_account@odata.bind": f"/accounts({ACCOUNT_IDS[0]})",
            "pricelevelid@odata.bind": f"/pricelevels({USD_PRICE_LIST_ID if spec.usd else PRICE_LIST_ID})",
            "datedelivered": "2026-11-20",
            schema.INVOICE_INVOICE_TYPE: int(spec.invoice_type),
            schema.INVOICE_LINE_AMOUNT_TYPES: int(spec.amount_types),
            "discountpercentage": spec.discount_percentage,
            "discountamount": (line_total * spec.discount_share).quantize(Decimal("0.01")),
            "freightamount": spec.freight,
        }
        invoice_id = str(h.person.create("invoices", _json(body))["invoiceid"])
        for number, line in enumerate(spec.lines, start=1):
            row: dict[str, Any] = {
                "invoiceid@odata.bind": f"/invoices({invoice_id})",
                "isproductoverridden": True,
                "productdescription": f"Item {number}",
                "quantity": line.quantity,
                "priceperunit": line.price,
                "manualdiscountamount": _discount(line),
            }
            if line.rate is not None:
                row.update(schema.bind(_TAX_RATE_LOOKUP, self.tax_rate_ids[rates[line.rate]]))
            h.person.create("invoicedetails", _json(row))
        h.set_connection(invoice_id)
        h.drain()
        return invoice_id

    def check_invariant(self, invoice_id: str) -> str:
        """Assert the invariant for one synced invoice; returns its outcome (match, rounding line, reported)."""
        h = self.harness
        row = h.invoice_row(invoice_id)
        last = h.history(invoice_id)[-1]
        assert last[schema.SYNC_HISTORY_STATUS] != SyncStatus.FAILED, last[schema.SYNC_HISTORY_DETAILS]
        xero = _xero_document(h, row[schema.INVOICE_XERO_INVOICE_ID])
        dynamics = (
            _money(row["totalamountlessfreight"]) + _money(row["freightamount"]),
            _money(row["totaltax"]),
            _money(row["totalamount"]),
        )
        theirs = (_money(xero["SubTotal"]), _money(xero["TotalTax"]), _money(xero["Total"]))
        assert _money(row[schema.INVOICE_XERO_TOTAL]) == theirs[2]
        assert _money(row[schema.INVOICE_XERO_TOTAL_TAX]) == theirs[1]
        assert _money(row[schema.INVOICE_XERO_SUBTOTAL]) == theirs[0]
        status = TotalsStatus(row[schema.INVOICE_TOTALS_STATUS])
        if status is TotalsStatus.MATCH:
            assert dynamics == theirs, (dynamics, theirs)
            assert last[schema.SYNC_HISTORY_STATUS] == SyncStatus.SUCCESS
            outcome = "matched exactly"
        elif status is TotalsStatus.ROUNDING_LINE:
            assert dynamics[2] == theirs[2], (dynamics, theirs)
            assert any(line.get("AccountCode") == ROUNDING_ACCOUNT for line in xero["LineItems"])
            outcome = "matched after a rounding line"
        else:
            assert dynamics != theirs
            assert last[schema.SYNC_HISTORY_STATUS] == SyncStatus.TOTALS_DIFFER
            words = row[schema.INVOICE_TOTALS_DIFFERENCE]
            for label, ours, other in zip(("Subtotal", "Tax", "Total"), dynamics, theirs, strict=True):
                if ours != other:
                    named = f"{label}: Xero {other:,.2f}, Dynamics {ours:,.2f}"
                    assert named in words and named in last[schema.SYNC_HISTORY_DETAILS], (named, words)
            assert "Why: " in words
            outcome = "reported"
        self.outcomes[outcome] += 1
        return outcome


def _base(line: LineSpec) -> Decimal:
    return (line.quantity * line.price).quantize(Decimal("0.01"))


def _discount(line: LineSpec) -> Decimal:
    return (_base(line) * line.discount_share).quantize(Decimal("0.01"))


def _money(value: Any) -> Decimal:
    return Decimal(str(value or 0)).quantize(Decimal("0.01"))


def _json(body: dict[str, Any]) -> dict[str, Any]:
    """Decimals as JSON numbers with exactly their digits (the Web API takes numbers)."""
    return {key: float(value) if isinstance(value, Decimal) else value for key, value in body.items()}


def _xero_document(harness: Harness, xero_id: str) -> dict[str, Any]:
    state = harness.xero_state()
    documents = [*state["Invoices"], *state["CreditNotes"]]
    return next(d for d in documents if xero_id in (d.get("InvoiceID"), d.get("CreditNoteID")))
