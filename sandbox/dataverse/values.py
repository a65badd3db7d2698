"""Column values between Web API JSON and the store's internal form.

Inside the store: text as str, whole numbers as int, decimals and money as Decimal, date/time as an aware
UTC datetime, date-only as date, choices as int, lookups as `Ref`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any

from sandbox.dataverse.errors import bad_request
from sandbox.dataverse.schema import Column, Kind

EDM_TYPES = {
    Kind.STRING: "Edm.String",
    Kind.MEMO: "Edm.String",
    Kind.INTEGER: "Edm.Int32",
    Kind.BIGINT: "Edm.Int64",
    Kind.DECIMAL: "Edm.Decimal",
    Kind.MONEY: "Edm.Decimal",
    Kind.BOOLEAN: "Edm.Boolean",
    Kind.DATETIME: "Edm.DateTimeOffset",
    Kind.DATEONLY: "Edm.Date",
    Kind.PICKLIST: "Edm.Int32",
    Kind.STATE: "Edm.Int32",
    Kind.STATUS: "Edm.Int32",
    Kind.ID: "Edm.Guid",
}


@dataclass(frozen=True)
class Ref:
    """A lookup value: which table and which row."""

    table: str
    id: str


def utcnow() -> datetime:
    # Dataverse keeps whole seconds.
    return datetime.now(UTC).replace(microsecond=0)


def normalise_guid(text: str) -> str:
    return str(uuid.UUID(text.strip("{}")))


def is_guid(text: str) -> bool:
    try:
        normalise_guid(text)
    except ValueError:
        return False
    return True


def parse_datetime(text: str) -> datetime:
    value = text.strip()
    if len(value) == 10:
        return datetime.fromisoformat(value).replace(tzinfo=UTC)
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC).replace(microsecond=0)


def _cannot_convert(value: Any, col: Column) -> Exception:
    return bad_request(
        f"Cannot convert the literal '{value}' to the expected type '{EDM_TYPES.get(col.kind, 'Edm.String')}'."
    )


def from_json(col: Column, value: Any, table: str) -> Any:
    """A Web API JSON value for `col` in its internal form; raises a Dataverse 400 when it does not fit."""
    if value is None:
        return None
    kind = col.kind
    if kind in (Kind.STRING, Kind.MEMO):
        if not isinstance(value, str):
            raise _cannot_convert(value, col)
        if col.max_length is not None and len(value) > col.max_length:
            raise bad_request(
                f"A validation error occurred. The length of the '{col.logical_name}' attribute of the '{table}' "
                f"entity exceeded the maximum allowed length of '{col.max_length}'.",
                "0x80044331",
            )
        return value
    if kind in (Kind.INTEGER, Kind.BIGINT, Kind.PICKLIST, Kind.STATE, Kind.STATUS):
        if isinstance(value, bool) or not isinstance(value, int):
            raise _cannot_convert(value, col)
        if kind is Kind.PICKLIST and value not in col.options:
            raise bad_request(
                f"A validation error occurred. The value {value} of '{col.logical_name}' on record of type "
                f"'{table}' is outside the valid range.",
                "0x8004431a",
            )
        return value
    if kind in (Kind.DECIMAL, Kind.MONEY):
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise _cannot_convert(value, col)
        try:
            return Decimal(str(value))
        except InvalidOperation:
            raise _cannot_convert(value, col) from None
    if kind is Kind.BOOLEAN:
        if not isinstance(value, bool):
            raise _cannot_convert(value, col)
        return value
    if kind in (Kind.DATETIME, Kind.DATEONLY):
        if not isinstance(value, str):
            raise _cannot_convert(value, col)
        try:
            parsed = parse_datetime(value)
        except ValueError:
            raise _cannot_convert(value, col) from None
        return parsed.date() if kind is Kind.DATEONLY else parsed
    if kind is Kind.ID:
        if not isinstance(value, str) or not is_guid(value):
            raise _cannot_convert(value, col)
        return normalise_guid(value)
    raise _cannot_convert(value, col)


def to_json(value: Any) -> Any:
    """An internal value as the Web API writes it."""
    if isinstance(value, Ref):
        return value.id
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, date):
        return value.isoformat()
    return value


def money(value: Decimal | None) -> Decimal:
    return value if value is not None else Decimal("0")


# The organisation's Pricing Decimal Precision (Dynamics allows 0-4, default 2): the sandbox org uses 4, so
# prices like 12.4950 survive. Money columns use the currency's precision (2 for GBP and USD).
PRICING_PLACES = Decimal("0.0001")
CURRENCY_PLACES = Decimal("0.01")


def round_money(value: Decimal, places: Decimal = CURRENCY_PLACES) -> Decimal:
    """Dynamics rounds calculated amounts with .NET Math.Round, which rounds a midpoint to even (banker's
    rounding: 11.725 -> 11.72, 0.235 -> 0.24). Sources: Microsoft Learn "Decimal precision in currency and
    pricing"; PowerObjects "Rounding numbers in Microsoft Dynamics CRM"."""
    return value.quantize(places, rounding=ROUND_HALF_EVEN)


def formatted(col: Column, value: Any, currency_symbol: str = "", name_of: Any = None) -> str | None:
    """The FormattedValue Dataverse shows a person for this value, or None when it has none."""
    if value is None:
        return None
    kind = col.kind
    if kind in (Kind.PICKLIST, Kind.STATE, Kind.STATUS):
        return col.options.get(value, str(value))
    if kind is Kind.MONEY:
        sign = "-" if value < 0 else ""
        return f"{sign}{currency_symbol}{abs(value):,.2f}"
    if kind is Kind.BOOLEAN:
        return "Yes" if value else "No"
    if kind is Kind.DATETIME:
        return f"{value.month}/{value.day}/{value.year} {value.strftime('%I:%M %p').lstrip('0')}"
    if kind is Kind.DATEONLY:
        return f"{value.month}/{value.day}/{value.year}"
    if kind in (Kind.INTEGER, Kind.BIGINT):
        return f"{value:,}"
    if kind is Kind.DECIMAL:
        return f"{value:,.{col.precision or 2}f}"
    if col.is_lookup and name_of is not None:
        return name_of(value)
    return None
