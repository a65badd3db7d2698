"""Default account codes proposed from an organisation's own chart, and its lock date."""

from __future__ import annotations

from datetime import date, datetime

from xero_python.accounting import Account, Organisation

from app import dynamics_schema as schema
from mappers.account_defaults import connection_facts, lock_date


def account(code: str, kind: str, klass: str, status: str = "ACTIVE", system: str | None = None) -> Account:
    found = Account(code=code, name=f"Account {code}", type=kind, status=status, system_account=system)
    found._class = klass
    return found


CHART = [
    account("090", "BANK", "ASSET"),
    account("205", "SALES", "REVENUE", status="ARCHIVED"),
    account("260", "REVENUE", "REVENUE"),
    account("4000", "SALES", "REVENUE"),
    account("429", "OVERHEADS", "EXPENSE"),
    account("500", "DIRECTCOSTS", "EXPENSE"),
    account("800", "CURRLIAB", "LIABILITY", system="CREDITORS"),
]


def test_sales_and_purchase_accounts_are_proposed_by_type_then_code():
    proposal = connection_facts({}, Organisation(), CHART)
    assert proposal.patch == {
        schema.CONNECTION_DEFAULT_SALES_ACCOUNT_CODE: "4000",  # SALES beats REVENUE; archived 205 is skipped
        schema.CONNECTION_DEFAULT_PURCHASE_ACCOUNT_CODE: "500",  # DIRECTCOSTS beats OVERHEADS
    }
    assert proposal.proposed == ["sales 4000 (Account 4000)", "purchases 500 (Account 500)"]


def test_an_admins_choice_is_kept_and_nothing_is_written_twice():
    row = {
        schema.CONNECTION_DEFAULT_SALES_ACCOUNT_CODE: "260",
        schema.CONNECTION_DEFAULT_PURCHASE_ACCOUNT_CODE: "429",
    }
    assert connection_facts(row, Organisation(), CHART).patch == {}


def test_a_chart_without_a_fitting_account_proposes_nothing():
    proposal = connection_facts({}, Organisation(), [account("090", "BANK", "ASSET")])
    assert proposal.proposed == []


def test_the_lock_date_is_the_later_of_the_two():
    organisation = Organisation(period_lock_date=date(2026, 3, 31), end_of_year_lock_date=date(2025, 3, 31))
    assert lock_date(organisation) == date(2026, 3, 31)
    assert lock_date(Organisation(end_of_year_lock_date=datetime(2026, 4, 30, 0, 0))) == date(2026, 4, 30)
    row = {schema.CONNECTION_PERIOD_LOCK_DATE: "2026-03-31"}
    assert schema.CONNECTION_PERIOD_LOCK_DATE not in connection_facts(row, organisation, []).patch
