"""The values of the columns the connector reads from an event must have their column's type.

A well-formed body can still carry a list where a choice belongs or text where a lookup belongs; caught here,
at the parser, such a body is a 400 naming the column instead of a fault somewhere downstream.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from app import dynamics_schema as schema
from app.events import DataverseEvent, EntityRef

# Standard columns the connector reads from events, beside its own (declared in app.dynamics_schema).
_STANDARD: dict[str, dict[str, str]] = {
    "invoicedetail": {"invoiceid": "Lookup"},
    "invoice": {"customerid": "Lookup", "statecode": "Picklist", "statuscode": "Picklist"},
}


def _is_number(value: Any) -> bool:
    return isinstance(value, int | Decimal) and not isinstance(value, bool)


_ACCEPTS: dict[str, tuple[str, Any]] = {
    "Picklist": ("a choice value (a whole number)", lambda v: isinstance(v, int) and not isinstance(v, bool)),
    "Integer": ("a whole number", lambda v: isinstance(v, int) and not isinstance(v, bool)),
    "Lookup": ("a reference to a row (EntityReference)", lambda v: isinstance(v, EntityRef)),
    "Money": ("an amount", _is_number),
    "Decimal": ("a number", _is_number),
    "Boolean": ("true or false", lambda v: isinstance(v, bool)),
    "DateTime": ("a date", lambda v: isinstance(v, datetime)),
    "String": ("text", lambda v: isinstance(v, str)),
    "Memo": ("text", lambda v: isinstance(v, str)),
}


def _column_kinds(entity: str) -> Mapping[str, str]:
    kinds = dict(_STANDARD.get(entity, {}))
    with contextlib.suppress(KeyError):  # a table the connector does not extend: only standard columns
        kinds.update({column.logical_name: column.kind for column in schema.table(entity).all_columns()})
    return kinds


def wrong_column_type(event: DataverseEvent) -> str | None:
    """The first column whose value does not have the column's type, in words; None when all do."""
    kinds = _column_kinds(event.entity)
    sources = [("Target", event.changed_attributes)]
    sources += [(f"PreEntityImages.{alias}", image) for alias, image in event.pre_images.items()]
    sources += [(f"PostEntityImages.{alias}", image) for alias, image in event.post_images.items()]
    for where, attributes in sources:
        for name, value in attributes.items():
            kind = kinds.get(name)
            if value is None or kind not in _ACCEPTS:
                continue
            expected, accepts = _ACCEPTS[kind]
            if not accepts(value):
                return f"{where}: column {name} must be {expected}, not {type(value).__name__}"
    return None
