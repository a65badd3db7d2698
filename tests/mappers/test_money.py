"""The money rules, one test each: rounding on both sides, the invoice discount per tax rate, freight, the
totals check and its wording, rounding lines, the tax written back, and tax-inclusive invoices."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest
from xero_python.accounting import LineItem

from app.dynamics_schema import InvoiceType, LineAmountTypes, RoundingMode, TotalsStatus
from mappers.dynamics import DEFAULT_ROUNDING_TOLERANCE, ConnectionSettings
from mappers.inclusive import exclusive_lines
from mappers.invoice_money import allocate, invoice_discount
from mappers.line_pricing import PricedLine, price_line
from mappers.rounding import dynamics_round, xero_line_amount, xero_round
from mappers.totals import (
    Totals,
    compare_totals,
    dynamics_totals_after,
    known_causes,
    line_taxes_after,
    rounding_line,
    with_rounding_line,
)
from mappers.xero_invoice import SendDocument, build_document
from tests.mappers.helpers import CONTACT_ID, ORG_URL, connection, invoice

D = Decimal
TAX_TYPES = {"200": "OUTPUT2", "260": "OUTPUT2", "300": "INPUT2"}
RATES = {"OUTPUT2": D("0.20"), "INPUT2": D("0.20"), "RROUTPUT": D("0.05"), "NONE": D("0")}


def build(inv=None, conn=None) -> SendDocument:
    plan = build_document(
        inv or invoice(),
        conn or connection(),
        contact_id=CONTACT_ID,
        org_url=ORG_URL,
        known_item_codes={"WIDGET-001"},
        account_tax_types=TAX_TYPES,
    )
    assert isinstance(plan, SendDocument)
    return plan


def as_xero_saves(plan: SendDocument, *, inclusive: bool = False):
    """The document as Xero answers it: each line's amount and tax, rounded per line half away from zero."""
    saved = plan.document
    for item in saved.line_items:
        if item.quantity is None:
            continue
        item.line_amount = xero_line_amount(D(item.quantity), D(item.unit_amount), item.discount_rate)
        rate = RATES[item.tax_type or "OUTPUT2"]
        exact = item.line_amount - item.line_amount / (1 + rate) if inclusive else item.line_amount * rate
        item.tax_amount = xero_round(exact)
    amounts = [item.line_amount for item in saved.line_items if item.quantity is not None]
    taxes = [item.tax_amount for item in saved.line_items if item.quantity is not None]
    saved.total_tax = sum(taxes, D(0))
    saved.sub_total = sum(amounts, D(0)) - (saved.total_tax if inclusive else 0)
    saved.total = saved.sub_total + saved.total_tax
    return saved


def discounted(**changes):
    """The recorded invoice (lines 364.50 before any header discount) with header money set."""
    base = {"total_discount_amount": None, "total_amount_less_freight": None}
    return invoice(**{**base, **changes})


# --- rounding on each side --------------------------------------------------------------------------------


def test_dynamics_rounds_a_midpoint_to_even_and_xero_away_from_zero():
    assert dynamics_round(D("11.725")) == D("11.72") and xero_round(D("11.725")) == D("11.73")
    assert dynamics_round(D("0.235")) == xero_round(D("0.235")) == D("0.24")


def test_a_midpoint_line_is_priced_so_xero_lands_on_dynamics_cents():
    """3 x 12.495 = 37.485: Dynamics holds 37.48, Xero would make 37.49 of the plain price."""
    target = dynamics_round(D("3") * D("12.495"))
    priced = price_line(D("3"), D("12.495"), D("0"), discount_rate_allowed=True, target=target)
    assert priced.line_amount == target == D("37.48")
    assert priced.quantity == 3


def test_a_quantity_with_five_decimals_is_sent_with_xero_s_four():
    priced = price_line(D("1.23456"), D("10"), D("0"), discount_rate_allowed=False, target=D("12.35"))
    assert priced.quantity == D("1.2346") and priced.line_amount == D("12.35")


def test_with_rounding_lines_a_line_keeps_its_quantity_and_leaves_the_cent():
    kept = price_line(D("1000"), D("1"), D("0.01"), discount_rate_allowed=False, keep_quantity=True)
    assert kept == PricedLine(D("1000"), D("1.0000"))
    assert kept.line_amount - D("999.99") == D("0.01")


# --- the invoice discount ---------------------------------------------------------------------------------


def test_an_allocation_is_exact_and_its_spare_cents_go_to_the_largest_remainders():
    assert allocate(D("10.00"), [D(1), D(1), D(1)]) == [D("3.34"), D("3.33"), D("3.33")]
    shares = allocate(D("36.45"), [D("292.50"), D("72.00")])
    assert sum(shares) == D("36.45") and shares == [D("29.25"), D("7.20")]
    assert sum(allocate(D("-0.05"), [D(3), D(3), D(1)])) == D("-0.05")
    mixed = allocate(D("10.00"), [D("120"), D("-20"), D("33.33")])  # a negative (credit) line among them
    assert sum(mixed) == D("10.00") and mixed[1] < 0


def test_a_percentage_discount_is_dynamics_rounding_of_the_percentage():
    assert invoice_discount(discounted(discount_percentage=D("10"))) == D("36.45")
    assert invoice_discount(discounted(discount_amount=D("5"), discount_percentage=D("2.5"))) == D("14.11")


def test_the_invoice_discount_becomes_one_line_per_account_and_tax_type():
    plan = build(discounted(discount_percentage=D("10")))
    discount_lines = [item for item in plan.document.line_items if item.description.startswith("Invoice discount")]
    assert [(i.account_code, i.tax_type, i.unit_amount) for i in discount_lines] == [
        ("200", "OUTPUT2", D("-29.25")),
        ("260", "OUTPUT2", D("-7.20")),
    ]
    assert discount_lines[0].description == "Invoice discount (10%)"
    assert [position for position, _ in plan.discount_shares] == [5, 6]


def test_a_tax_rate_override_gets_its_own_discount_line():
    inv = discounted(discount_amount=D("10"))
    lines = list(inv.lines)
    lines[0] = replace(lines[0], tax_type="RROUTPUT")
    plan = build(replace(inv, lines=tuple(lines)))
    by_tax = {(i.account_code, i.tax_type): i.unit_amount for i in plan.document.line_items if i.line_item_id is None}
    assert by_tax[("200", "RROUTPUT")] == D("-1.37")  # 50.00 of 364.50
    assert sum(v for k, v in by_tax.items() if k[1] is not None and v < 0) == D("-10")


def test_the_discount_s_tax_is_spread_back_so_dynamics_tax_is_xero_s():
    inv = discounted(discount_percentage=D("10"))
    plan = build(inv)
    saved = as_xero_saves(plan)
    taxes = line_taxes_after(inv, plan, saved)
    assert sum(taxes.values()) == saved.total_tax
    dynamics = dynamics_totals_after(inv, taxes)
    assert (dynamics.sub_total, dynamics.total_tax, dynamics.total) == (saved.sub_total, saved.total_tax, saved.total)


# --- freight ----------------------------------------------------------------------------------------------


def test_freight_is_an_untaxed_line_on_the_default_account_unless_the_connection_says_otherwise():
    plan = build(discounted(freight_amount=D("15")))
    freight = plan.document.line_items[plan.freight_position]
    assert (freight.description, freight.unit_amount, freight.account_code, freight.tax_type) == (
        "Freight",
        D("15"),
        "200",
        "NONE",
    )
    bill = build(discounted(freight_amount=D("15"), invoice_type=InvoiceType.PURCHASE_INVOICE))
    assert bill.document.line_items[bill.freight_position].account_code == "300"
    own = build(discounted(freight_amount=D("15")), connection(freight_account_code="260", freight_tax_type="OUTPUT2"))
    assert own.document.line_items[own.freight_position].account_code == "260"


def test_taxed_freight_is_named_as_the_cause_of_the_difference():
    conn = connection(freight_tax_type="OUTPUT2")
    inv = discounted(freight_amount=D("15"))
    plan = build(inv, conn)
    saved = as_xero_saves(plan)
    assert known_causes(plan, saved) == ["Freight tax 3.00 has no place in Dynamics totals"]
    check = compare_totals(dynamics_totals_after(inv, line_taxes_after(inv, plan, saved)), xero_totalled(saved))
    assert check.status is TotalsStatus.DIFFER


def xero_totalled(saved) -> Totals:
    return Totals(saved.sub_total, saved.total_tax, saved.total)


# --- the totals check -------------------------------------------------------------------------------------


def test_equal_totals_match_and_say_nothing():
    same = Totals(D("100"), D("20"), D("120"))
    check = compare_totals(same, same)
    assert check.status is TotalsStatus.MATCH and check.difference == ""


def test_a_difference_names_both_figures_and_the_cause():
    check = compare_totals(
        Totals(D("93.10"), D("18.62"), D("111.72")),
        Totals(D("93.11"), D("18.62"), D("111.73")),
    )
    assert check.status is TotalsStatus.DIFFER
    assert "Total: Xero 111.73, Dynamics 111.72" in check.difference
    assert "Subtotal: Xero 93.11, Dynamics 93.10" in check.difference
    assert "Tax:" not in check.difference
    assert "Why: Xero rounds each line and its tax to 2 decimals." in check.difference
    paid = compare_totals(Totals(D(1), D(0), D(1)), Totals(D(2), D(0), D(2)), causes=["Xero kept the amounts"])
    assert paid.difference.endswith("Why: Xero kept the amounts.")


@pytest.mark.parametrize(
    ("changes", "blocked", "wanted"),
    [
        ({}, False, None),  # the default reports
        ({"rounding_mode": RoundingMode.ROUNDING_LINE}, False, D("-0.01")),
        ({"rounding_mode": RoundingMode.ROUNDING_LINE, "rounding_account_code": None}, False, None),
        ({"rounding_mode": RoundingMode.ROUNDING_LINE}, True, None),  # freight tax, a paid invoice: not rounding
        ({"rounding_mode": RoundingMode.ROUNDING_LINE, "rounding_tolerance": D("0.00")}, False, None),
    ],
)
def test_a_rounding_line_only_when_asked_for_within_the_tolerance_and_for_rounding(changes, blocked, wanted):
    conn: ConnectionSettings = connection(**{"rounding_account_code": "860", **changes})
    check = compare_totals(Totals(D("93.10"), D("18.62"), D("111.72")), Totals(D("93.11"), D("18.62"), D("111.73")))
    line = rounding_line(check, conn, blocked=blocked)
    assert (line.unit_amount if line else None) == wanted
    if line:
        assert (line.account_code, line.tax_type, line.description) == ("860", "NONE", "Rounding")


def test_the_default_tolerance_is_five_cents():
    assert connection().rounding_tolerance == DEFAULT_ROUNDING_TOLERANCE == D("0.05")
    assert connection().rounding_mode is RoundingMode.REPORT


def test_totals_equal_after_a_rounding_line_say_so():
    dynamics = Totals(D("93.10"), D("18.62"), D("111.72"))
    check = compare_totals(dynamics, Totals(D("93.10"), D("18.62"), D("111.72")), rounding_amount=D("-0.01"))
    assert check.status is TotalsStatus.ROUNDING_LINE
    assert "after a rounding line of -0.01" in check.difference


def test_the_rounding_line_is_added_to_the_saved_document_keeping_every_line():
    plan = build()
    saved = as_xero_saves(plan)
    for number, item in enumerate(saved.line_items):
        item.line_item_id = f"x-{number}"
    document = with_rounding_line(plan, saved, LineItem(description="Rounding", unit_amount=D("0.01")))
    assert [i.line_item_id for i in document.line_items][:-1] == [f"x-{n}" for n in range(len(saved.line_items))]
    assert document.line_items[-1].description == "Rounding"


# --- tax-inclusive invoices -------------------------------------------------------------------------------


def test_inclusive_lines_are_written_back_without_their_tax_and_the_totals_are_xero_s():
    inv = discounted(line_amount_types=LineAmountTypes.INCLUSIVE, discount_percentage=D("10"), freight_amount=D("5"))
    plan = build(inv)
    saved = as_xero_saves(plan, inclusive=True)
    taxes = line_taxes_after(inv, plan, saved)
    converted = exclusive_lines(inv, plan.line_ids, saved, taxes)
    by_id = {line.id: line for line in inv.lines}
    for line in converted:
        original = by_id[line.line_id]
        base = dynamics_round(original.quantity * line.price_per_unit)
        assert base - line.manual_discount - original.volume_discount == line.net_amount
        assert line.manual_discount >= 0 and line.price_per_unit == line.price_per_unit.quantize(D("0.0001"))
    after = dynamics_totals_after(inv, taxes, {line.line_id: line.net_amount for line in converted})
    assert (after.sub_total, after.total_tax, after.total) == (saved.sub_total, saved.total_tax, saved.total)


def test_a_price_list_volume_discount_reaches_xero_with_the_manual_one():
    inv = invoice()
    lines = list(inv.lines)
    # 4 x (12.50 - 0.625 per unit) = 47.50, less 1.00 by hand
    widget = replace(lines[0], volume_discount=D("0.625"), manual_discount=D("1.00"), base_amount=None)
    plan = build(replace(inv, lines=(widget, *lines[1:])), connection())
    item = plan.document.line_items[0]
    assert xero_line_amount(D(item.quantity), D(item.unit_amount), item.discount_rate) == D("46.50")
    assert widget.net_amount == D("46.50")


def test_a_line_s_base_amount_is_dynamics_own_when_read():
    line = replace(invoice().lines[0], quantity=D("3"), price_per_unit=D("12.495"), base_amount=None)
    assert line.net_amount == D("37.48")  # half to even, as Dynamics rounds
    assert replace(line, base_amount=D("37.49")).net_amount == D("37.49")
