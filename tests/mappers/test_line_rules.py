"""Line pricing (mappers/line_pricing.py) and line pairing (mappers/line_matching.py)."""

from __future__ import annotations

from decimal import Decimal

from xero_python.accounting import LineItem

from mappers.line_matching import pair_lines
from mappers.line_pricing import PricedLine, price_line, to_cents

D = Decimal


def test_no_discount_keeps_quantity_and_price():
    assert price_line(D("3"), D("9.99"), D("0"), discount_rate_allowed=True) == PricedLine(D("3"), D("9.99"))


def test_sales_discount_becomes_an_exact_rate():
    priced = price_line(D("2"), D("40"), D("8"), discount_rate_allowed=True)
    assert priced.discount_rate == D("10.0000") and priced.line_amount == D("72.00")


def test_every_priced_line_reproduces_the_dynamics_net_amount_to_the_cent():
    quantities = [D("1"), D("3"), D("7"), D("1.5"), D("12"), D("250")]
    prices = [D("0.13"), D("9.99"), D("10"), D("33.33"), D("1234.56")]
    for quantity in quantities:
        for price in prices:
            for discount in (D("0.01"), D("1"), D("2.50"), D("17.77")):
                if discount > quantity * price:
                    continue
                target = to_cents(quantity * price - discount)
                for allowed in (True, False):
                    priced = price_line(quantity, price, discount, discount_rate_allowed=allowed)
                    assert priced.line_amount == target, (quantity, price, discount, allowed)
                    assert allowed or priced.discount_rate is None


def test_purchase_discount_is_folded_into_the_unit_amount():
    priced = price_line(D("3"), D("10"), D("1"), discount_rate_allowed=False)
    assert priced.discount_rate is None
    assert priced == PricedLine(D("3"), D("9.6667"))
    assert priced.line_amount == D("29.00")


def test_when_no_unit_amount_fits_one_unit_at_the_net_amount_is_sent():
    priced = price_line(D("1000"), D("1"), D("0.01"), discount_rate_allowed=False)
    assert priced == PricedLine(D("1"), D("999.99"))


def line(text: str, code: str | None = None, line_id: str | None = None) -> LineItem:
    return LineItem(description=text, item_code=code, line_item_id=line_id)


def test_pairing_prefers_same_text_and_item_then_same_text_then_position():
    existing = [line("A", "1", "a"), line("B", None, "b"), line("C", None, "c"), line("A", "2", "a2")]
    wanted = [line("A", "2"), line("B", "9"), line("C changed"), line("D")]
    pairing = pair_lines(wanted, existing)
    assert pairing.existing_for == (3, 1, 0, 2)
    assert pairing.unpaired_existing == ()


def test_pairing_leaves_extra_xero_lines_unpaired_and_new_lines_without_id():
    pairing = pair_lines([line("only")], [line("x", line_id="1"), line("only", line_id="2")])
    assert pairing.existing_for == (1,)
    assert pairing.unpaired_existing == (0,)
    assert pair_lines([line("new")], []).existing_for == (None,)


def test_pairing_ignores_whitespace_differences():
    assert pair_lines([line("Two  words\n")], [line("x"), line("Two words")]).existing_for == (1,)
