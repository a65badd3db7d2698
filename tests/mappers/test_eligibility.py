"""When an invoice may go to Xero (mappers/eligibility.py), one test per rule."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from mappers.dynamics import InvoiceState
from mappers.eligibility import Eligible, Ineligible, NotYet, check_eligibility, start_of_day
from tests.mappers.helpers import connection, invoice

TODAY = date(2026, 11, 20)


def test_complete_active_invoice_delivered_today_is_eligible():
    assert check_eligibility(invoice(), connection(), TODAY) == Eligible()


def test_delivered_in_the_past_is_eligible():
    assert check_eligibility(invoice(date_delivered=date(2026, 1, 5)), connection(), TODAY) == Eligible()


def test_no_connection_is_ineligible():
    outcome = check_eligibility(invoice(connection_id=None), None, TODAY)
    assert isinstance(outcome, Ineligible) and "no Xero connection" in outcome.reason


def test_no_customer_is_ineligible():
    outcome = check_eligibility(invoice(customer=None), connection(), TODAY)
    assert isinstance(outcome, Ineligible) and "no customer" in outcome.reason


def test_no_price_list_is_ineligible():
    outcome = check_eligibility(invoice(price_list_id=None), connection(), TODAY)
    assert isinstance(outcome, Ineligible) and "no price list" in outcome.reason


def test_no_lines_is_ineligible():
    outcome = check_eligibility(invoice(lines=[]), connection(), TODAY)
    assert isinstance(outcome, Ineligible) and "no products" in outcome.reason


@pytest.mark.parametrize(("state", "words"), [(InvoiceState.PAID, "paid"), (InvoiceState.CANCELED, "cancelled")])
def test_only_active_invoices_are_eligible(state, words):
    outcome = check_eligibility(invoice(state=state), connection(), TODAY)
    assert isinstance(outcome, Ineligible) and words in outcome.reason


def test_no_delivery_date_is_ineligible():
    outcome = check_eligibility(invoice(date_delivered=None), connection(), TODAY)
    assert isinstance(outcome, Ineligible) and "delivery date" in outcome.reason


def test_future_delivery_date_waits_for_that_day():
    assert check_eligibility(invoice(date_delivered=date(2026, 11, 21)), connection(), TODAY) == NotYet(
        run_on=date(2026, 11, 21)
    )


def test_today_is_taken_in_the_connections_time_zone():
    # 13:30 UTC on 19 Nov is already 20 Nov in Sydney: an invoice delivered on the 20th may go.
    now = datetime(2026, 11, 19, 13, 30, tzinfo=UTC)
    sydney = connection(time_zone="Australia/Sydney")
    assert check_eligibility(invoice(), sydney, now) == Eligible()
    assert check_eligibility(invoice(), connection(time_zone="UTC"), now) == NotYet(run_on=date(2026, 11, 20))


def test_a_naive_now_is_refused():
    with pytest.raises(ValueError, match="aware"):
        check_eligibility(invoice(), connection(), datetime(2026, 11, 20, 9, 0))


def test_waiting_invoice_runs_at_local_midnight():
    run_at = start_of_day(date(2026, 11, 21), connection(time_zone="Australia/Sydney"))
    assert run_at.astimezone(UTC) == datetime(2026, 11, 20, 13, 0, tzinfo=UTC)


def test_reasons_are_checked_in_the_order_a_user_fixes_them():
    outcome = check_eligibility(replace(invoice(customer=None), price_list_id=None), connection(), TODAY)
    assert isinstance(outcome, Ineligible) and "customer" in outcome.reason
