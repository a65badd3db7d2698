"""Account mapping: a connection's default account codes and tax types, chosen from drop-downs filled with that
organisation's own imported accounts (xc_accountcode) and tax rates (xc_taxrate), saved to its connection row.

The fields are the candidates below that the connection table has (app/dynamics_schema.py): a new setting of
this kind is one line here, and shows up once its column is declared in the schema.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from flask import render_template, request
from werkzeug.wrappers import Response

from app import dynamics_schema as schema
from app.admin import blueprint, problem
from app.admin.connections import connection_name, connection_row, parse_id
from app.admin.context import back_to, services

if TYPE_CHECKING:
    from app.services import Services

Source = Literal["account", "tax"]


# Xero account types (xc_accounttype) an admin usually means for each kind of default; the others are offered
# after them, under "Other accounts", so an unusual chart of accounts is never blocked.
INCOME = frozenset({"REVENUE", "SALES", "OTHERINCOME"})
COSTS = frozenset({"DIRECTCOSTS", "EXPENSE", "OVERHEADS", "INVENTORY"})


@dataclass(frozen=True)
class MappingField:
    column: str  # logical name on the connection row
    label: str
    source: Source  # which reference table fills its drop-down
    usual_types: frozenset[str] = frozenset()  # accounts only: listed first


CANDIDATES: tuple[MappingField, ...] = (
    MappingField(schema.column("defaultsalesaccountcode"), "Sales account", "account", INCOME),
    MappingField(schema.column("defaultsalestaxtype"), "Sales tax rate", "tax"),
    MappingField(schema.column("defaultpurchaseaccountcode"), "Purchase account", "account", COSTS),
    MappingField(schema.column("defaultpurchasetaxtype"), "Purchase tax rate", "tax"),
    MappingField(schema.column("freightaccountcode"), "Freight account", "account", INCOME),
    MappingField(schema.column("freighttaxtype"), "Freight tax rate", "tax"),
    MappingField(schema.column("roundingaccountcode"), "Rounding account", "account", INCOME | COSTS),
)


def _declared(column: str) -> bool:
    try:
        schema.CONNECTION_TABLE[column]
    except KeyError:
        return False
    return True


FIELDS: tuple[MappingField, ...] = tuple(field for field in CANDIDATES if _declared(field.column))


@dataclass(frozen=True)
class Option:
    value: str
    label: str
    kind: str = ""  # an account's Xero type


def grouped(field: MappingField, options: list[Option]) -> list[tuple[str, list[Option]]]:
    """The drop-down's groups: the usual accounts for this field first, then the others (no groups for tax)."""
    if not field.usual_types:
        return [("", options)]
    usual = [option for option in options if option.kind in field.usual_types]
    other = [option for option in options if option.kind not in field.usual_types]
    return [(name, group) for name, group in (("Usual accounts", usual), ("Other accounts", other)) if group]


def account_options(found: Services, connection_id: str) -> list[Option]:
    rows = found.dataverse.query(
        schema.ACCOUNT_CODE_ENTITY_SET,
        select=[schema.ACCOUNT_CODE_CODE, schema.REFERENCE_NAME, schema.ACCOUNT_CODE_TYPE],
        filter=f"_{schema.REFERENCE_CONNECTION}_value eq {connection_id} and {schema.REFERENCE_IS_ACTIVE} eq true",
        orderby=f"{schema.ACCOUNT_CODE_CODE} asc",
    )
    # Accounts without a code (bank accounts, say) cannot be named on an invoice line.
    return [
        Option(
            str(row[schema.ACCOUNT_CODE_CODE]),
            f"{row[schema.ACCOUNT_CODE_CODE]} {row.get(schema.REFERENCE_NAME) or ''} "
            f"({(row.get(schema.ACCOUNT_CODE_TYPE) or '').title()})",
            str(row.get(schema.ACCOUNT_CODE_TYPE) or "").upper(),
        )
        for row in rows
        if row.get(schema.ACCOUNT_CODE_CODE)
    ]


def tax_options(found: Services, connection_id: str) -> list[Option]:
    rows = found.dataverse.query(
        schema.TAX_RATE_ENTITY_SET,
        select=[schema.TAX_RATE_TAX_TYPE, schema.REFERENCE_NAME, schema.TAX_RATE_EFFECTIVE_RATE],
        filter=f"_{schema.REFERENCE_CONNECTION}_value eq {connection_id} and {schema.REFERENCE_IS_ACTIVE} eq true",
        orderby=f"{schema.REFERENCE_NAME} asc",
    )
    return [
        Option(str(row[schema.TAX_RATE_TAX_TYPE]), f"{row.get(schema.REFERENCE_NAME)} ({_rate(row)})")
        for row in rows
        if row.get(schema.TAX_RATE_TAX_TYPE)
    ]


def _rate(row: dict[str, object]) -> str:
    rate = row.get(schema.TAX_RATE_EFFECTIVE_RATE)
    return f"{rate:g} %" if isinstance(rate, int | float) else "rate unknown"


def _choices(found: Services, connection_id: str) -> dict[Source, list[Option]]:
    return {"account": account_options(found, connection_id), "tax": tax_options(found, connection_id)}


def _row(found: Services, connection_id: str) -> dict[str, object]:
    return connection_row(found, connection_id, tuple(field.column for field in FIELDS))


def _page(
    connection_id: str, row: dict[str, object], choices: dict[Source, list[Option]], error: str | None = None
) -> str:
    return render_template(
        "admin/mapping.html",
        connection_id=connection_id,
        name=connection_name(row),
        fields=FIELDS,
        current={field.column: row.get(field.column) or "" for field in FIELDS},
        choices=choices,
        grouped=grouped,
        error=error,
    )


@blueprint.get("/connections/<connection_id>/mapping")
def mapping_page(connection_id: str) -> str:
    row_id = parse_id(connection_id)
    found = services()
    return _page(row_id, _row(found, row_id), _choices(found, row_id))


def chosen_values(
    form: dict[str, str], row: dict[str, object], choices: dict[Source, list[Option]]
) -> tuple[dict[str, str | None], list[str]]:
    """The columns to write and the problems found: each value must be one the drop-down offers, the value the
    row already holds (kept even when Xero no longer lists it) or empty (no default)."""
    values: dict[str, str | None] = {}
    problems = []
    for field in FIELDS:
        given = (form.get(field.column) or "").strip()
        offered = {option.value for option in choices[field.source]}
        if given and given not in offered and given != row.get(field.column):
            problems.append(f"{field.label}: {given!r} is not one of this organisation's active codes in Xero.")
            continue
        values[field.column] = given or None
    return values, problems


@blueprint.post("/connections/<connection_id>/mapping")
def save_mapping(connection_id: str) -> Response | tuple[str, int]:
    row_id = parse_id(connection_id)
    found = services()
    row = _row(found, row_id)
    choices = _choices(found, row_id)
    if not FIELDS:
        return problem("Nothing to map", "This connector's connection table has no account mapping columns.", 400)
    values, problems = chosen_values(request.form.to_dict(), row, choices)
    if problems:
        return _page(row_id, row, choices, " ".join(problems)), 400
    found.dataverse.update(schema.CONNECTION_ENTITY_SET, row_id, values)
    return back_to("admin.mapping_page", "mapping_saved", connection_name(row), connection_id=row_id)
