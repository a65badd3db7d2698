"""Request bodies for the Web API: JSON with the values mappers naturally produce (Decimal, dates, enums)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any


def to_json(body: Mapping[str, Any]) -> bytes:
    return json.dumps(body, default=_web_api_value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _web_api_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        # Money and quantities: float's shortest repr gives back the same digits for the at most 10 decimals
        # Dataverse keeps, so 10.25 travels as 10.25.
        return float(value)
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, Enum):
        return value.value
    raise TypeError(f"{type(value).__name__} cannot be sent to Dataverse")
