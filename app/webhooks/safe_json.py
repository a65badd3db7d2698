"""JSON from strangers: parsed with bounds, so no body can hang a worker, exhaust its stack or smuggle text
that cannot be stored.

Numbers become Decimal (money never passes through binary floating point) and are refused beyond what any
real webhook carries: more than 40 digits, or an exponent beyond +/-40 (`1e999999999` would otherwise make
`int()` build a billion-digit number). NaN and Infinity are refused, and strings holding
lone surrogates (valid JSON escapes, but not Unicode text) are refused. How deep a document may nest is for its
reader to say (the Dataverse parser bounds typed values; anything deeper than the stack allows is refused here).
"""

from __future__ import annotations

import json
import re
from decimal import Decimal, InvalidOperation
from typing import Any

MAX_DIGITS = 40
MAX_EXPONENT = 40
_SURROGATE = re.compile("[\ud800-\udfff]")
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")  # the only way a surrogate gets into parsed text


class UnsafeJson(ValueError):
    """The body cannot be accepted; the message names the problem for a 400."""


def _integer(text: str) -> int:
    if len(text.lstrip("-")) > MAX_DIGITS:
        raise UnsafeJson(f"a number has more than {MAX_DIGITS} digits")
    return int(text)


def _decimal(text: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:  # pragma: no cover - the JSON scanner only hands over valid numbers
        raise UnsafeJson(f"{text[:20]!r} is not a number") from None
    if len(value.as_tuple().digits) > MAX_DIGITS or abs(value.adjusted()) > MAX_EXPONENT:
        raise UnsafeJson(
            f"a number is out of range (more than {MAX_DIGITS} digits or an exponent beyond {MAX_EXPONENT})"
        )
    return value


def _constant(name: str) -> Any:
    raise UnsafeJson(f"{name} is not a number JSON allows")


def loads(text: str | bytes) -> Any:
    """Parse and check one JSON document. Raises UnsafeJson naming the first problem found."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise UnsafeJson(f"the body is not UTF-8 text (bad byte at position {exc.start})") from None
    try:
        document = json.loads(text, parse_int=_integer, parse_float=_decimal, parse_constant=_constant)
    except json.JSONDecodeError as exc:
        raise UnsafeJson(f"the body is not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})") from None
    except RecursionError:
        raise UnsafeJson("the body nests deeper than any webhook does") from None
    if _SURROGATE_ESCAPE.search(text):
        _check_text(document)
    return document


def _check_text(document: Any) -> None:
    """Every string and key is Unicode text (iteratively: a recursive walk could run out of stack)."""
    stack: list[Any] = [document]
    while stack:
        value = stack.pop()
        if isinstance(value, str):
            if _SURROGATE.search(value):
                raise UnsafeJson("a string holds a lone surrogate (\\ud800-\\udfff), which is not text")
        elif isinstance(value, dict):
            stack.extend(value.keys())
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
