"""Building Web API paths and OData query options safely.

Row ids are checked to be GUIDs before they go into a path, so an id read from a webhook or a user's column
can never reshape the URL; string literals for `$filter` are quoted with `odata_literal`.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence

from app.errors import Permanent

_ENTITY_SET = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def checked_entity_set(entity_set: str) -> str:
    if not _ENTITY_SET.match(entity_set):
        raise Permanent(f"{entity_set!r} is not a Dataverse entity set name")
    return entity_set


def checked_row_id(row_id: str) -> str:
    """The row id in Dataverse's lower-case form; `Permanent` if it is not a GUID."""
    try:
        return str(uuid.UUID(str(row_id).strip("{}")))
    except ValueError:
        raise Permanent(f"{row_id!r} is not a Dataverse row id (a GUID)") from None


def row_path(entity_set: str, row_id: str) -> str:
    """`invoices(<guid>)`, relative to the Web API root."""
    return f"{checked_entity_set(entity_set)}({checked_row_id(row_id)})"


def odata_literal(value: str) -> str:
    """A string literal for `$filter`: single quotes doubled, as OData requires."""
    return "'" + value.replace("'", "''") + "'"


def option_list(value: str | Sequence[str] | None) -> str | None:
    """`$select`/`$expand`/`$orderby` accept a comma-separated string or a sequence of items."""
    if value is None:
        return None
    if isinstance(value, str):
        return value or None
    return ",".join(value) or None


def query_options(
    *,
    select: str | Sequence[str] | None = None,
    expand: str | Sequence[str] | None = None,
    filter: str | None = None,
    orderby: str | Sequence[str] | None = None,
    top: int | None = None,
) -> dict[str, str]:
    options = {
        "$select": option_list(select),
        "$expand": option_list(expand),
        "$filter": filter or None,
        "$orderby": option_list(orderby),
        "$top": str(top) if top is not None else None,
    }
    return {name: value for name, value in options.items() if value is not None}


_ROW_PATH = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)\(([0-9a-fA-F-]{36})\)")


def split_row_path(path: str) -> tuple[str | None, str | None]:
    """(entity set, row id) from `invoices(<guid>)...`, or (entity set, None) / (None, None) when absent."""
    found = _ROW_PATH.match(path)
    if found:
        return found.group(1), found.group(2).lower()
    head = path.split("?", 1)[0].split("(", 1)[0].split("/", 1)[0]
    return (head, None) if _ENTITY_SET.match(head) else (None, None)
