"""Checks before Xero is called, against the organisation's reference data already imported into Dynamics.

    reference = ReferenceData.from_rows(account_rows, tax_rate_rows, currency_rows, lock_date=connection.lock)
    checked = check_before_sending(invoice, connection, reference)
    if checked.problems: ...                 # a Failed history row listing them; Xero is not called
    build_document(checked.invoice, ...)     # every priced line names the account and tax type that were checked

Pure and per invoice (no I/O, no clock), so a batch can run it for each of its members. What is checked, in the
order a finance user would fix it:
- the connection has a default account code for the document's side (sales or purchases);
- each line's account code (its own, else the connection's default) exists in the organisation and is active;
- each line's tax type (its own, else the connection's default tax type, else the account's own tax type in
  Xero) exists, is active, suits the document's side (revenue rates on sales, expense rates on purchases)
  and may be used on accounts of that account's class (Xero's CanApplyTo flags);
  lines of a "No tax" invoice carry no tax type;
- the invoice's currency is enabled in the organisation (its base currency always is);
- the invoice date (the delivery date) is after the organisation's lock date.
Each problem is one sentence naming the line, the value and what to change.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date

from app import dynamics_schema as schema
from app.dynamics_schema import BundleHandling, LineAmountTypes
from mappers import rows
from mappers.dynamics import ConnectionSettings, Invoice, InvoiceLine, XeroDocumentType
from mappers.rows import Row

RETRY_HINT = "then set the export status back to No."


@dataclass(frozen=True)
class AccountRef:
    code: str
    name: str
    active: bool
    account_class: str | None
    tax_type: str | None


@dataclass(frozen=True)
class TaxRateRef:
    tax_type: str
    name: str
    active: bool
    account_classes: frozenset[str] | None  # None: not imported (an older import), so not checked


@dataclass(frozen=True)
class ReferenceData:
    """One organisation's imported reference rows, keyed as Xero compares them (codes without case)."""

    accounts: Mapping[str, AccountRef]
    tax_rates: Mapping[str, TaxRateRef]
    currencies: frozenset[str]
    lock_date: date | None = None

    @property
    def imported(self) -> bool:
        return bool(self.accounts)

    @classmethod
    def from_rows(
        cls,
        account_rows: Iterable[Row],
        tax_rate_rows: Iterable[Row],
        currency_rows: Iterable[Row],
        *,
        lock_date: date | None = None,
    ) -> ReferenceData:
        accounts = {}
        for row in account_rows:
            code = rows.text(row, schema.ACCOUNT_CODE_CODE)
            if code:
                accounts[code.casefold()] = AccountRef(
                    code=code,
                    name=rows.text(row, schema.REFERENCE_NAME) or code,
                    active=rows.flag(row, schema.REFERENCE_IS_ACTIVE, default=True),
                    account_class=(rows.text(row, schema.ACCOUNT_CODE_CLASS) or "").upper() or None,
                    tax_type=rows.text(row, schema.ACCOUNT_CODE_TAX_TYPE),
                )
        tax_rates = {}
        for row in tax_rate_rows:
            tax_type = rows.text(row, schema.TAX_RATE_TAX_TYPE)
            if tax_type:
                classes = rows.text(row, schema.TAX_RATE_ACCOUNT_CLASSES)
                tax_rates[tax_type.casefold()] = TaxRateRef(
                    tax_type=tax_type,
                    name=rows.text(row, schema.REFERENCE_NAME) or tax_type,
                    active=rows.flag(row, schema.REFERENCE_IS_ACTIVE, default=True),
                    account_classes=None
                    if classes is None
                    else frozenset(part.strip().upper() for part in classes.split(",") if part.strip()),
                )
        currencies = frozenset(
            code.upper()
            for row in currency_rows
            if rows.flag(row, schema.REFERENCE_IS_ACTIVE, default=True)
            and (code := rows.text(row, schema.CURRENCY_CODE))
        )
        return cls(accounts, tax_rates, currencies, lock_date)


@dataclass(frozen=True)
class Checked:
    invoice: Invoice  # priced lines carry the account code and tax type that were checked
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.problems


def _side(document_type: XeroDocumentType) -> str:
    return "sales" if document_type.is_sales else "purchase"


def default_tax_type(connection: ConnectionSettings, document_type: XeroDocumentType) -> str | None:
    return connection.default_sales_tax_type if document_type.is_sales else connection.default_purchase_tax_type


def _lines_checked(invoice: Invoice, connection: ConnectionSettings) -> set[str]:
    """The ids of the lines that reach Xero as priced lines: comments are left out, and bundles follow the
    connection's setting (the header line alone, or its components instead)."""
    lines = [line for line in invoice.lines if not line.is_note]
    if connection.bundle_handling is BundleHandling.HEADER_ONLY:
        return {line.id for line in lines if not line.is_bundle_component}
    parents = {line.parent_bundle_id for line in lines if line.is_bundle_component and line.parent_bundle_id}
    expanded = any(line.is_bundle_component for line in lines)
    return {line.id for line in lines if not (line.is_bundle and (line.id in parents if parents else expanded))}


def _label(line: InvoiceLine, position: int) -> str:
    """ "Line 3 (Widget)": the number Dynamics shows the line under (its sequence), else its place in the list."""
    number = line.sequence_number or line.line_number or position
    title = (line.text_for_xero or "").split("\n")[0][:60]
    return f"Line {number} ({title})" if title else f"Line {number}"


def check_before_sending(invoice: Invoice, connection: ConnectionSettings, reference: ReferenceData) -> Checked:
    document_type = invoice.xero_type
    side = _side(document_type)
    organisation = connection.xero_tenant_name or connection.name or "the Xero organisation"
    problems: list[str] = []
    default_code = connection.default_account_code(document_type)
    if not default_code:
        problems.append(
            f"The Xero connection '{connection.name or organisation}' has no default {side} account code. "
            f"Choose one from the organisation's chart of accounts on the connection, {RETRY_HINT}"
        )
    no_tax = (invoice.line_amount_types or connection.default_line_amount_types) is LineAmountTypes.NO_TAX
    wanted_ids = _lines_checked(invoice, connection)
    resolved: list[InvoiceLine] = []
    position = 0
    for line in invoice.lines:
        if line.id not in wanted_ids:
            resolved.append(line)
            continue
        position += 1
        label = _label(line, position)
        code = line.account_code or default_code
        account = reference.accounts.get(code.casefold()) if code else None
        if code and account is None:
            problems.append(
                f"{label}: the account code {code} does not exist in {organisation}. "
                f"Choose an account of that organisation on the line, {RETRY_HINT}"
            )
        elif account is not None and not account.active:
            problems.append(
                f"{label}: the account {account.code} ({account.name}) is archived in {organisation}. "
                f"Choose an active account on the line, {RETRY_HINT}"
            )
        tax_type = None
        if not no_tax:
            tax_type = line.tax_type or default_tax_type(connection, document_type) or (account and account.tax_type)
            if tax_type or account is not None:  # with no usable account, the account problem says it all
                problems.extend(_tax_problems(label, tax_type, account, reference, organisation, document_type))
        resolved.append(replace(line, account_code=code, tax_type=tax_type or line.tax_type))
    currency = (invoice.currency_code or "").upper()
    if currency and reference.currencies and currency not in reference.currencies:
        enabled = ", ".join(sorted(reference.currencies))
        problems.append(
            f"The invoice is in {currency}, which is not enabled in {organisation} (enabled: {enabled}). "
            f"Enable {currency} in Xero (Settings, Currencies) and import the reference data again, or change "
            f"the invoice's currency, {RETRY_HINT}"
        )
    if reference.lock_date and invoice.date_delivered and invoice.date_delivered <= reference.lock_date:
        problems.append(
            f"The invoice date {invoice.date_delivered:%d %B %Y} is on or before the lock date of {organisation} "
            f"({reference.lock_date:%d %B %Y}): Xero accepts nothing dated in a locked period. Change the date "
            f"delivered, or ask your accountant to move the lock date in Xero, {RETRY_HINT}"
        )
    return Checked(replace(invoice, lines=tuple(resolved)), tuple(problems))


def _tax_problems(
    label: str,
    tax_type: str | None,
    account: AccountRef | None,
    reference: ReferenceData,
    organisation: str,
    document_type: XeroDocumentType,
) -> list[str]:
    if not tax_type:
        return [
            f"{label}: no tax rate is set, and neither the connection nor the account has a default one. "
            f"Choose a tax rate on the line, {RETRY_HINT}"
        ]
    rate = reference.tax_rates.get(tax_type.casefold())
    if rate is None:
        return [
            f"{label}: the tax type {tax_type} does not exist in {organisation}. Choose a tax rate of that "
            f"organisation on the line, {RETRY_HINT}"
        ]
    if not rate.active:
        return [
            f"{label}: the tax rate {rate.name} ({rate.tax_type}) is no longer active in {organisation}. "
            f"Choose an active tax rate on the line, {RETRY_HINT}"
        ]
    side_class = "REVENUE" if document_type.is_sales else "EXPENSE"
    if rate.account_classes is not None and side_class not in rate.account_classes:
        kind = "sales" if document_type.is_sales else "purchase"
        return [
            f"{label}: the tax rate {rate.name} ({rate.tax_type}) cannot be used on {kind} documents in "
            f"{organisation}. Choose a {kind} tax rate on the line (or as the connection's default), {RETRY_HINT}"
        ]
    if (
        account is not None
        and account.account_class
        and rate.account_classes is not None
        and account.account_class not in rate.account_classes
    ):
        return [
            f"{label}: the tax rate {rate.name} ({rate.tax_type}) cannot be used with the account {account.code} "
            f"({account.name}), a {account.account_class.lower()} account. Choose a tax rate meant for that "
            f"account, or another account, {RETRY_HINT}"
        ]
    return []
