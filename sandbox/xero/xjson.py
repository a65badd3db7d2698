"""Xero's wire format: Microsoft JSON dates, money as numbers, Decimal-exact parsing of request bodies."""

from __future__ import annotations

import datetime as dt
import json
import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from email.utils import parsedate_to_datetime
from typing import Any

UTC = dt.UTC
_MS_DATE = re.compile(r"^/Date\((-?\d+)([+-]\d{4})?\)/$")
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=UTC)
CENT = Decimal("0.01")


def ms_date(value: dt.date | dt.datetime, offset: bool = True) -> str:
    """`/Date(ms+0000)/`, the only date form the SDK accepts in entities (envelopes omit the offset)."""
    if not isinstance(value, dt.datetime):
        value = dt.datetime(value.year, value.month, value.day, tzinfo=UTC)
    millis = int((value - _EPOCH).total_seconds() * 1000)
    return f"/Date({millis}+0000)/" if offset else f"/Date({millis})/"


def parse_date(value: Any) -> dt.date:
    """Accept what clients send: `/Date(ms[+hhmm])/`, `YYYY-MM-DD` or an ISO date-time; else ValueError."""
    if isinstance(value, str):
        match = _MS_DATE.match(value.strip())
        if match:
            return (_EPOCH + dt.timedelta(milliseconds=int(match.group(1)))).date()
        try:
            return dt.date.fromisoformat(value[:10])
        except ValueError:
            pass
    raise ValueError(f"'{value}' is not a valid date")


def parse_http_datetime(value: str) -> dt.datetime | None:
    """If-Modified-Since arrives as ISO 8601 from the SDK or RFC 1123 from plain HTTP clients."""
    text = value.strip()
    for parse in (dt.datetime.fromisoformat, parsedate_to_datetime):
        try:
            parsed = parse(text)
        except (ValueError, TypeError):
            continue
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None


def to_decimal(value: Any) -> Decimal:
    if isinstance(value, bool) or value is None:
        raise ValueError("not a number")
    try:
        number = Decimal(str(value))
    except InvalidOperation as exc:
        raise ValueError(f"'{value}' is not a number") from exc
    if not number.is_finite():
        raise ValueError("not a finite number")
    return number


def money(value: Decimal, places: Decimal = CENT) -> Decimal:
    """Xero rounds half away from zero (Decimal's ROUND_HALF_UP does exactly that)."""
    return value.quantize(places, rounding=ROUND_HALF_UP)


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dt.date):
        return ms_date(value)
    raise TypeError(f"cannot encode {type(value).__name__}")


def dumps(payload: Any, pretty: bool = False) -> str:
    return json.dumps(payload, default=_default, indent=2 if pretty else None)


def loads(raw: bytes | str) -> Any:
    return json.loads(raw, parse_float=Decimal)
