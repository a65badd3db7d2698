"""Reading single values out of Dataverse Web API rows (JSON as `GET /api/data/v9.2/...` returns it).

In that JSON money and decimals are numbers, choices are ints, lookups read as `_<name>_value` with optional
annotations, and dates are ISO-8601 strings (`2024-05-01` for date-only columns, `2024-05-01T23:00:00Z` for
date-and-time and for "user local" date-only columns). Every helper here tolerates a missing key: a row read
with a narrower `$select` simply yields None.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import IntEnum
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from app.dynamics_schema import LookupColumn

Row = Mapping[str, Any]
FORMATTED = "@OData.Community.Display.V1.FormattedValue"
LOOKUP_LOGICAL_NAME = "@Microsoft.Dynamics.CRM.lookuplogicalname"
ChoiceT = TypeVar("ChoiceT", bound=IntEnum)


def lookup_key(name: str | LookupColumn) -> str:
    """The property a lookup is read under: `customerid` -> `_customerid_value`."""
    if isinstance(name, LookupColumn):
        return name.value_key
    return f"_{name.lower()}_value"


def text(row: Row, key: str) -> str | None:
    value = row.get(key)
    if value is None:
        return None
    value = str(value).strip()
    return value or None


def flag(row: Row, key: str, default: bool = False) -> bool:
    value = row.get(key)
    return default if value is None else bool(value)


def decimal(row: Row, key: str) -> Decimal | None:
    """A number as Decimal, going through str so 0.1 stays 0.1 rather than its binary approximation."""
    value = row.get(key)
    if value is None or value == "":
        return None
    return Decimal(str(value))


def integer(row: Row, key: str) -> int | None:
    value = row.get(key)
    return None if value is None else int(value)


def choice(row: Row, key: str, choices: type[ChoiceT], default: ChoiceT | None = None) -> ChoiceT | None:
    """A choice column as its enum member; an unknown value reads as the default (a newer option we lack)."""
    value = row.get(key)
    if value is None:
        return default
    try:
        return choices(int(value))
    except ValueError:
        return default


def lookup_id(row: Row, name: str | LookupColumn) -> str | None:
    return text(row, lookup_key(name))


def lookup_name(row: Row, name: str | LookupColumn) -> str | None:
    """The referenced row's primary name, from the FormattedValue annotation when the read asked for it."""
    return text(row, lookup_key(name) + FORMATTED)


def lookup_table(row: Row, name: str | LookupColumn) -> str | None:
    return text(row, lookup_key(name) + LOOKUP_LOGICAL_NAME)


def expanded(row: Row, navigation: str) -> Row | None:
    """A single-valued `$expand`: the related row, or None when the lookup is empty or was not expanded."""
    value = row.get(navigation)
    return value if isinstance(value, Mapping) else None


def parse_datetime(value: str) -> datetime:
    """An ISO-8601 instant; a value without an offset is taken as UTC, as Dataverse stores it."""
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def instant(row: Row, key: str) -> datetime | None:
    value = text(row, key)
    return None if value is None else parse_datetime(value)


def calendar_date(row: Row, key: str, zone: ZoneInfo) -> date | None:
    """A date as the user meant it.

    A date-only column arrives as `2024-05-01` and is taken as is. A "user local" date arrives as the UTC
    instant of local midnight (`2024-04-30T23:00:00Z` for 1 May in London in summer), so it is converted to
    the organisation's time zone before the date is taken.
    """
    value = text(row, key)
    if value is None:
        return None
    if "T" not in value:
        return date.fromisoformat(value)
    return parse_datetime(value).astimezone(zone).date()


def zone_or_utc(name: str | None) -> ZoneInfo:
    """An IANA time zone, falling back to UTC for an empty or unknown name rather than failing a sync."""
    if not name:
        return ZoneInfo("UTC")
    try:
        return ZoneInfo(name)
    except (ValueError, KeyError, OSError):
        return ZoneInfo("UTC")
