"""The checks before Xero is called: every rule, each failure worded for a finance user, lines resolved."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from app import dynamics_schema as schema
from app.dynamics_schema import InvoiceType, LineAmountTypes
from mappers.preflight import ReferenceData, check_before_sending
from tests.mappers.helpers import connection, invoice


def _account(code: str, klass: str, tax: str, *, active: bool = True, name: str | None = None) -> dict:
    return {
        schema.ACCOUNT_CODE_CODE: code,
        schema.REFERENCE_NAME: name or f"Account {code}",
        schema.REFERENCE_IS_ACTIVE: active,
        schema.ACCOUNT_CODE_CLASS: klass,
        schema.ACCOUNT_CODE_TAX_TYPE: tax,
    }


def _rate(tax_type: str, classes: str | None, *, active: bool = True) -> dict:
    return {
        schema.TAX_RATE_TAX_TYPE: tax_type,
        schema.REFERENCE_NAME: f"{tax_type} rate",
        schema.REFERENCE_IS_ACTIVE: active,
        schema.TAX_RATE_ACCOUNT_CLASSES: classes,
    }


ACCOUNTS = [
    _account("200", "REVENUE", "OUTPUT2", name="Sales"),
    _account("260", "REVENUE", "OUTPUT2", name="Other Revenue"),
    _account("205", "REVENUE", "OUTPUT2", active=False, name="Old Sales"),
    _account("300", "EXPENSE", "INPUT2", name="Purchases"),
]
RATES = [
    _rate("OUTPUT2", "ASSET,EQUITY,LIABILITY,REVENUE"),
    _rate("INPUT2", "ASSET,EQUITY,EXPENSE,LIABILITY"),
    _rate("RROUTPUT", "ASSET,EQUITY,LIABILITY,REVENUE", active=False),
]
CURRENCIES = [{schema.CURRENCY_CODE: code, schema.REFERENCE_IS_ACTIVE: True} for code in ("GBP", "EUR")]


def reference(lock: date | None = None, currencies: list[dict] | None = None) -> ReferenceData:
    return ReferenceData.from_rows(ACCOUNTS, RATES, CURRENCIES if currencies is None else currencies, lock_date=lock)


def test_a_clean_invoice_passes_and_every_priced_line_names_its_account_and_tax_type():
    checked = check_before_sending(invoice(), connection(), reference())
    assert checked.ok, checked.problems
    priced = [line for line in checked.invoice.lines if not line.is_note and not line.is_bundle_component]
    assert {(line.account_code, line.tax_type) for line in priced} == {("200", "OUTPUT2"), ("260", "OUTPUT2")}
    note = next(line for line in checked.invoice.lines if line.is_note)
    assert (note.account_code, note.tax_type) == (None, None), "comment lines carry nothing"


def test_a_connection_without_a_default_account_code_is_refused():
    checked = check_before_sending(invoice(), connection(default_sales_account_code=None), reference())
    assert checked.problems[0].startswith("The Xero connection 'Demo Company (UK)' has no default sales account code.")


def test_the_connections_default_tax_type_comes_before_the_accounts_and_must_suit_the_side():
    checked = check_before_sending(invoice(), connection(default_sales_tax_type="INPUT2"), reference())
    assert (
        "Line 1 (Widget): the tax rate INPUT2 rate (INPUT2) cannot be used on sales documents" in (checked.problems[0])
    )


def test_a_tax_rate_must_apply_to_the_accounts_class():
    bill = invoice(invoice_type=InvoiceType.PURCHASE_INVOICE)
    checked = check_before_sending(
        bill, connection(default_purchase_account_code="200", default_purchase_tax_type="INPUT2"), reference()
    )
    assert any("cannot be used with the account 200 (Sales), a revenue account" in p for p in checked.problems)


def test_unknown_and_archived_accounts_and_inactive_tax_rates_are_named_by_line():
    unknown = check_before_sending(invoice(), connection(default_sales_account_code="999"), reference())
    assert "Line 1 (Widget): the account code 999 does not exist in Demo Company (UK)." in unknown.problems[0]
    archived = check_before_sending(invoice(), connection(default_sales_account_code="205"), reference())
    assert "the account 205 (Old Sales) is archived in Demo Company (UK)" in archived.problems[0]
    inactive = check_before_sending(invoice(), connection(default_sales_tax_type="RROUTPUT"), reference())
    assert "the tax rate RROUTPUT rate (RROUTPUT) is no longer active" in inactive.problems[0]
    missing = check_before_sending(invoice(), connection(default_sales_tax_type="GST"), reference())
    assert "the tax type GST does not exist in Demo Company (UK)" in missing.problems[0]


def test_a_bill_uses_the_purchase_default_and_input_tax():
    bill = invoice(invoice_type=InvoiceType.PURCHASE_INVOICE)
    own = [replace(line, account_code=None, tax_type=None) for line in bill.lines]
    checked = check_before_sending(replace(bill, lines=tuple(own)), connection(), reference())
    assert checked.ok, checked.problems
    assert {line.account_code for line in checked.invoice.lines if line.account_code} == {"300"}


def test_no_tax_invoices_carry_no_tax_type_and_skip_the_tax_checks():
    checked = check_before_sending(
        invoice(line_amount_types=LineAmountTypes.NO_TAX),
        connection(default_sales_tax_type="GST"),
        reference(),
    )
    assert checked.ok
    assert all(line.tax_type in (None, "OUTPUT2") for line in checked.invoice.lines)  # line 002 names its own


def test_a_currency_the_organisation_has_not_enabled_is_refused_with_the_enabled_ones_listed():
    checked = check_before_sending(invoice(currency_code="USD"), connection(), reference())
    assert checked.problems == (
        "The invoice is in USD, which is not enabled in Demo Company (UK) (enabled: EUR, GBP). Enable USD in "
        "Xero (Settings, Currencies) and import the reference data again, or change the invoice's currency, "
        "then set the export status back to No.",
    )


def test_an_invoice_dated_on_or_before_the_lock_date_is_refused():
    on_lock = check_before_sending(invoice(), connection(), reference(lock=date(2026, 11, 20)))
    assert on_lock.problems[0].startswith(
        "The invoice date 20 November 2026 is on or before the lock date of Demo Company (UK) (20 November 2026)"
    )
    assert check_before_sending(invoice(), connection(), reference(lock=date(2026, 11, 19))).ok


def test_several_problems_are_all_reported_at_once():
    checked = check_before_sending(
        invoice(currency_code="USD"), connection(default_sales_account_code="999"), reference(lock=date(2027, 1, 1))
    )
    assert len(checked.problems) >= 3


def test_a_line_without_any_account_is_told_once_through_the_connection():
    checked = check_before_sending(invoice(), connection(default_sales_account_code=None), reference())
    unpriced = [p for p in checked.problems if "no tax rate is set" in p]
    assert unpriced == [], "the missing default account code is the one thing to fix"
