"""The organisation's own limits the sandbox enforces like Xero: enabled currencies, lock dates, and tax rates
only on accounts of a class the rate allows."""

from __future__ import annotations

import datetime as dt

import pytest
from xero_python.accounting import CurrencyCode, Invoices
from xero_python.exceptions import AccountingBadRequestException

from sandbox.xero.admin_client import SandboxAdmin
from sandbox.xero.sdk import SdkClient
from tests.sandbox.xero.builders import ISSUED, invoice, line


def _refused(client: SdkClient, document) -> list[str]:
    with pytest.raises(AccountingBadRequestException) as error:
        client.accounting.create_invoices(client.tenant_id, Invoices(invoices=[document]))
    return [
        message["Message"]
        for element in error.value.error_data.get("Elements", [])
        for message in element.get("ValidationErrors", [])
    ]


def test_currencies_lists_the_enabled_ones_and_others_are_refused(xero_client: SdkClient, xero_admin: SandboxAdmin):
    listed = xero_client.accounting.get_currencies(xero_client.tenant_id).currencies
    assert [c.code for c in listed] == [CurrencyCode.GBP, CurrencyCode.EUR, CurrencyCode.USD]
    xero_admin.set_organisation(xero_client.tenant_id, Currencies=["GBP", "EUR"])
    messages = _refused(xero_client, invoice(currency_code=CurrencyCode.USD))
    assert "The currency code 'USD' is not enabled for this organisation" in messages


def test_a_document_dated_on_or_before_the_lock_date_is_refused(xero_client: SdkClient, xero_admin: SandboxAdmin):
    xero_admin.set_organisation(xero_client.tenant_id, PeriodLockDate=ISSUED.isoformat())
    organisation = xero_client.accounting.get_organisations(xero_client.tenant_id).organisations[0]
    assert organisation.period_lock_date == ISSUED
    messages = _refused(xero_client, invoice())
    assert any("lock date" in message for message in messages)
    later = invoice()
    later.date = ISSUED + dt.timedelta(days=1)
    assert xero_client.accounting.create_invoices(xero_client.tenant_id, Invoices(invoices=[later])).invoices


def test_a_tax_rate_only_on_accounts_of_a_class_it_allows(xero_client: SdkClient):
    # A bill may carry input rates, but RRINPUT does not apply to revenue accounts such as 200 Sales.
    messages = _refused(xero_client, invoice(lines=[line(account_code="200", tax_type="RRINPUT")], kind="ACCPAY"))
    assert "The TaxType code 'RRINPUT' cannot be used with account code '200'." in messages
