"""Xero reference data (tax rates, accounts, branding themes, tracking) as rows of the connector's Dynamics tables.

Two steps, both pure:
- `wanted_*` turn the xero-python models into `Wanted` rows: a key (the Xero id, or the TaxType for tax rates,
  which have no id), the column values, and for a tracking option the key of its category;
- `plan_table` compares them with the rows already in Dynamics for one connection and says what to write:
  rows to create (under an id derived from connection, table and key, so a repeated write finds the same row),
  changed columns to update, rows Xero no longer lists to mark inactive, and how many are already right.

Rows are never deleted: invoice lines may point at them. A row that Xero stops listing keeps the last status
Xero gave it and is only marked inactive; it becomes active again if Xero lists it again.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from app import dynamics_schema as schema
from app.dynamics_schema import BooleanColumn, DecimalColumn, LookupColumn, StringColumn, Table
from mappers import rows

ACTIVE = "ACTIVE"
# A fixed namespace: the same (connection, table, key) always names the same new row.
ROW_ID_NAMESPACE = uuid.UUID("6f1c3a52-9d0e-4c57-8a43-2b7e51d0c9a4")


@dataclass(frozen=True)
class ReferenceTable:
    """One reference table and how its rows are told apart."""

    label: str  # for counts and messages: "tax rates"
    table: Table
    key_column: str  # the column that identifies a row within a connection
    columns: tuple[str, ...]  # the columns the import owns (compared and written)
    parent: LookupColumn | None = None  # tracking option -> its category

    @property
    def entity_set(self) -> str:
        return self.table.entity_set

    @property
    def primary_id(self) -> str:
        return self.table.primary_id

    def select(self) -> list[str]:
        """The `$select` for reading this connection's existing rows."""
        keys = [self.primary_id, *self.columns]
        if self.parent is not None:
            keys.append(self.parent.value_key)
        return keys

    def connection_filter(self, connection_id: str) -> str:
        return f"{rows.lookup_key(schema.REFERENCE_CONNECTION)} eq {uuid.UUID(connection_id)}"


_COMMON = (schema.REFERENCE_NAME, schema.REFERENCE_XERO_ID, schema.REFERENCE_STATUS, schema.REFERENCE_IS_ACTIVE)

TAX_RATES = ReferenceTable(
    "tax rates",
    schema.TAX_RATE_TABLE,
    schema.TAX_RATE_TAX_TYPE,
    (
        schema.REFERENCE_NAME,
        schema.TAX_RATE_TAX_TYPE,
        schema.TAX_RATE_EFFECTIVE_RATE,
        schema.TAX_RATE_ACCOUNT_CLASSES,
        schema.REFERENCE_STATUS,
        schema.REFERENCE_IS_ACTIVE,
    ),
)
ACCOUNT_CODES = ReferenceTable(
    "account codes",
    schema.ACCOUNT_CODE_TABLE,
    schema.REFERENCE_XERO_ID,
    (
        *_COMMON,
        schema.ACCOUNT_CODE_CODE,
        schema.ACCOUNT_CODE_TYPE,
        schema.ACCOUNT_CODE_CLASS,
        schema.ACCOUNT_CODE_TAX_TYPE,
    ),
)
CURRENCIES = ReferenceTable(
    "currencies",
    schema.CURRENCY_TABLE,
    schema.CURRENCY_CODE,
    (schema.REFERENCE_NAME, schema.CURRENCY_CODE, schema.REFERENCE_IS_ACTIVE),  # Xero lists only enabled ones
)
BRANDING_THEMES = ReferenceTable(
    "branding themes",
    schema.BRANDING_THEME_TABLE,
    schema.REFERENCE_XERO_ID,
    (schema.REFERENCE_NAME, schema.REFERENCE_XERO_ID, schema.REFERENCE_IS_ACTIVE),  # themes have no status
)
TRACKING_CATEGORIES = ReferenceTable(
    "tracking categories",
    schema.TRACKING_CATEGORY_TABLE,
    schema.REFERENCE_XERO_ID,
    _COMMON,
)
TRACKING_OPTIONS = ReferenceTable(
    "tracking options",
    schema.TRACKING_OPTION_TABLE,
    schema.REFERENCE_XERO_ID,
    _COMMON,
    parent=schema.lookup(schema.TRACKING_OPTION_TABLE.logical_name, schema.TRACKING_OPTION_CATEGORY),
)
# The order of the import: a tracking option binds to its category, so categories are written first.
IMPORT_ORDER: tuple[ReferenceTable, ...] = (
    TAX_RATES,
    ACCOUNT_CODES,
    BRANDING_THEMES,
    TRACKING_CATEGORIES,
    TRACKING_OPTIONS,
    CURRENCIES,
)
_CONNECTION_LOOKUP = schema.lookup(schema.TAX_RATE_TABLE.logical_name, schema.REFERENCE_CONNECTION)


@dataclass(frozen=True)
class Wanted:
    """A row as Xero says it should be."""

    key: str
    values: Mapping[str, Any]
    parent_key: str | None = None


# ---------------------------------------------------------------------------------------------------
# From Xero's models
# ---------------------------------------------------------------------------------------------------


def _status(value: Any) -> str | None:
    text = getattr(value, "value", value)  # SDK enums carry their text in .value
    return str(text).upper() if text else None


def _is_active(*statuses: str | None) -> bool:
    return all(status == ACTIVE for status in statuses)


# Xero's TaxRate flags, by the Account.Class each one allows (developer.xero.com/documentation/api/accounting/taxrates).
_CLASS_FLAGS = {
    "ASSET": "can_apply_to_assets",
    "EQUITY": "can_apply_to_equity",
    "EXPENSE": "can_apply_to_expenses",
    "LIABILITY": "can_apply_to_liabilities",
    "REVENUE": "can_apply_to_revenue",
}


def account_classes(rate: Any) -> str | None:
    """The account classes a rate may be used on, e.g. "ASSET,REVENUE"; None when Xero gave no flags at all."""
    flags = {klass: getattr(rate, attribute, None) for klass, attribute in _CLASS_FLAGS.items()}
    if all(value is None for value in flags.values()):
        return None
    return ",".join(klass for klass, value in flags.items() if value)


def wanted_tax_rates(tax_rates: Iterable[Any]) -> list[Wanted]:
    found = []
    for rate in tax_rates:
        if not rate.tax_type:
            continue
        status = _status(rate.status)
        found.append(
            Wanted(
                rate.tax_type,
                {
                    schema.REFERENCE_NAME: rate.name or rate.tax_type,
                    schema.TAX_RATE_TAX_TYPE: rate.tax_type,
                    schema.TAX_RATE_EFFECTIVE_RATE: None
                    if rate.effective_rate is None
                    else Decimal(str(rate.effective_rate)),
                    schema.TAX_RATE_ACCOUNT_CLASSES: account_classes(rate),
                    schema.REFERENCE_STATUS: status,
                    schema.REFERENCE_IS_ACTIVE: _is_active(status),
                },
            )
        )
    return found


def wanted_accounts(accounts: Iterable[Any]) -> list[Wanted]:
    found = []
    for account in accounts:
        if not account.account_id:
            continue
        status = _status(account.status)
        found.append(
            Wanted(
                str(account.account_id),
                {
                    schema.REFERENCE_NAME: account.name or account.code or str(account.account_id),
                    schema.REFERENCE_XERO_ID: str(account.account_id),
                    schema.ACCOUNT_CODE_CODE: account.code,
                    schema.ACCOUNT_CODE_TYPE: _status(account.type),
                    schema.ACCOUNT_CODE_CLASS: _status(account._class),
                    schema.ACCOUNT_CODE_TAX_TYPE: account.tax_type,
                    schema.REFERENCE_STATUS: status,
                    schema.REFERENCE_IS_ACTIVE: _is_active(status),
                },
            )
        )
    return found


def wanted_currencies(currencies: Iterable[Any], base_currency: str | None) -> list[Wanted]:
    """The organisation's enabled currencies; the base currency is always one of them."""
    codes = [_status(currency.code) for currency in currencies]
    names = {_status(c.code): c.description for c in currencies}
    if base_currency and _status(base_currency) not in codes:
        codes.insert(0, _status(base_currency))
    return [
        Wanted(
            code,
            {
                schema.REFERENCE_NAME: names.get(code) or code,
                schema.CURRENCY_CODE: code,
                schema.REFERENCE_IS_ACTIVE: True,
            },
        )
        for code in dict.fromkeys(codes)
        if code
    ]


def wanted_branding_themes(themes: Iterable[Any]) -> list[Wanted]:
    return [
        Wanted(
            str(theme.branding_theme_id),
            {
                schema.REFERENCE_NAME: theme.name or str(theme.branding_theme_id),
                schema.REFERENCE_XERO_ID: str(theme.branding_theme_id),
                schema.REFERENCE_IS_ACTIVE: True,
            },
        )
        for theme in themes
        if theme.branding_theme_id
    ]


def wanted_tracking(categories: Iterable[Any]) -> tuple[list[Wanted], list[Wanted]]:
    """Categories and their options; an option is active only while its category is too."""
    wanted_categories, wanted_options = [], []
    for category in categories:
        if not category.tracking_category_id:
            continue
        category_key = str(category.tracking_category_id)
        category_status = _status(category.status)
        wanted_categories.append(
            Wanted(
                category_key,
                {
                    schema.REFERENCE_NAME: category.name or category_key,
                    schema.REFERENCE_XERO_ID: category_key,
                    schema.REFERENCE_STATUS: category_status,
                    schema.REFERENCE_IS_ACTIVE: _is_active(category_status),
                },
            )
        )
        for option in category.options or ():
            if not option.tracking_option_id:
                continue
            status = _status(option.status)
            wanted_options.append(
                Wanted(
                    str(option.tracking_option_id),
                    {
                        schema.REFERENCE_NAME: option.name or str(option.tracking_option_id),
                        schema.REFERENCE_XERO_ID: str(option.tracking_option_id),
                        schema.REFERENCE_STATUS: status,
                        schema.REFERENCE_IS_ACTIVE: _is_active(status, category_status),
                    },
                    parent_key=category_key,
                )
            )
    return wanted_categories, wanted_options


# ---------------------------------------------------------------------------------------------------
# Comparing with Dynamics
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RowWrite:
    """One row to write: `create` rows are upserted under `row_id`, the others updated (they must exist)."""

    row_id: str
    body: Mapping[str, Any]
    create: bool = False


@dataclass
class TablePlan:
    table: ReferenceTable
    creates: list[RowWrite] = field(default_factory=list)
    updates: list[RowWrite] = field(default_factory=list)
    deactivations: list[RowWrite] = field(default_factory=list)
    unchanged: int = 0
    row_ids: dict[str, str] = field(default_factory=dict)  # normalised key -> Dynamics row id

    @property
    def writes(self) -> list[RowWrite]:
        return [*self.creates, *self.updates, *self.deactivations]

    def counts(self) -> dict[str, int]:
        return {
            "created": len(self.creates),
            "updated": len(self.updates),
            "deactivated": len(self.deactivations),
            "unchanged": self.unchanged,
        }


def new_row_id(connection_id: str, table: ReferenceTable, key: str) -> str:
    return str(uuid.uuid5(ROW_ID_NAMESPACE, f"{connection_id.lower()}|{table.table.logical_name}|{_norm_key(key)}"))


def _norm_key(key: str) -> str:
    return key.strip().lower()


def _normalise(table: Table, column_name: str, value: Any) -> Any:
    """A value as Dynamics would store it, so that Xero's and Dynamics' versions compare equal."""
    column = table[column_name]
    if isinstance(column, StringColumn):
        text = None if value is None else str(value).strip()[: column.max_length]
        return text or None
    if isinstance(column, DecimalColumn):
        if value is None or value == "":
            return None
        return Decimal(str(value)).quantize(Decimal(1).scaleb(-column.precision))
    if isinstance(column, BooleanColumn):
        return column.default if value is None else bool(value)
    return value


def _body_value(value: Any) -> Any:
    return float(value) if isinstance(value, Decimal) else value


def plan_table(
    table: ReferenceTable,
    wanted: Iterable[Wanted],
    existing: Iterable[Mapping[str, Any]],
    *,
    connection_id: str,
    parent_row_ids: Mapping[str, str] | None = None,
) -> TablePlan:
    """What to write so that this connection's rows of `table` match `wanted`.

    `existing` are the connection's rows as read with `table.select()`; when two share a key (written by hand,
    or by an older version) the first is kept in step and the others are left alone. `parent_row_ids` maps a
    parent's normalised key to its Dynamics row id (the tracking categories' plan's `row_ids`).
    """
    plan = TablePlan(table)
    by_key: dict[str, Mapping[str, Any]] = {}
    for row in existing:
        key = rows.text(row, table.key_column)
        if key and _norm_key(key) not in by_key:
            by_key[_norm_key(key)] = row
    seen: set[str] = set()
    for item in wanted:
        key = _norm_key(item.key)
        if key in seen:
            continue
        seen.add(key)
        values = {name: _normalise(table.table, name, item.values.get(name)) for name in table.columns}
        parent_id = _parent_row_id(item, parent_row_ids)
        row = by_key.get(key)
        if row is None:
            row_id = new_row_id(connection_id, table, item.key)
            body = {name: _body_value(value) for name, value in values.items() if value is not None}
            body.update(schema.bind(_CONNECTION_LOOKUP, connection_id))
            if table.parent is not None and parent_id:
                body.update(schema.bind(table.parent, parent_id))
            plan.creates.append(RowWrite(row_id, body, create=True))
        else:
            row_id = str(row[table.primary_id]).lower()
            changes = {
                name: _body_value(value)
                for name, value in values.items()
                if _normalise(table.table, name, row.get(name)) != value
            }
            linked_to = (rows.text(row, table.parent.value_key) or "").lower() if table.parent else ""
            if table.parent is not None and parent_id and linked_to != parent_id:
                changes.update(schema.bind(table.parent, parent_id))
            if changes:
                plan.updates.append(RowWrite(row_id, changes))
            else:
                plan.unchanged += 1
        plan.row_ids[key] = row_id
    for key, row in by_key.items():
        if key in seen:
            continue
        if _normalise(table.table, schema.REFERENCE_IS_ACTIVE, row.get(schema.REFERENCE_IS_ACTIVE)):
            plan.deactivations.append(RowWrite(str(row[table.primary_id]).lower(), {schema.REFERENCE_IS_ACTIVE: False}))
        else:
            plan.unchanged += 1
    return plan


def _parent_row_id(item: Wanted, parent_row_ids: Mapping[str, str] | None) -> str | None:
    if item.parent_key is None or parent_row_ids is None:
        return None
    found = parent_row_ids.get(_norm_key(item.parent_key))
    return found.lower() if found else None


def summary(plans: Iterable[TablePlan]) -> str:
    """One line for a person: "tax rates: 9 created, 0 updated, 0 deactivated, 0 unchanged; ..." """
    return "; ".join(
        f"{plan.table.label}: " + ", ".join(f"{count} {what}" for what, count in plan.counts().items())
        for plan in plans
    )
