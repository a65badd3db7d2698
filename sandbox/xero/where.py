"""A small, strict subset of Xero's `where` filter language, evaluated on records in Xero's JSON shape.

Supported: `Path == "text"`, `Path != "text"`, `Path == Guid("...")`, `Path == true|false`,
`Path.Contains("text")`, `Path.StartsWith("text")`, `Path.EndsWith("text")` (an optional `.ToLower()` before
any of them), joined with AND/&& and OR/|| (no parentheses). Paths may be dotted (`Contact.ContactID`).
Text comparisons ignore case, as Xero's do. Anything else raises ValueError, so no caller trusts a filter
the sandbox did not understand.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

_PATH = r"(?P<path>[A-Za-z][A-Za-z0-9]*(?:\.[A-Za-z][A-Za-z0-9]*)*?)(?:\.ToLower\(\))?"
_COMPARE = re.compile(
    _PATH + r'\s*(?P<op>==|!=)\s*(?:"(?P<text>[^"]*)"|(?:guid|Guid|GUID)\("(?P<guid>[^"]*)"\)|(?P<bool>true|false))$'
)
_METHOD = re.compile(_PATH + r'\.(?P<method>Contains|StartsWith|EndsWith)\("(?P<arg>[^"]*)"\)$')
_OR = re.compile(r"\s+OR\s+|\s*\|\|\s*", re.IGNORECASE)
_AND = re.compile(r"\s+AND\s+|\s*&&\s*", re.IGNORECASE)

Predicate = Callable[[dict[str, Any]], bool]


def _lookup(record: dict[str, Any], path: str) -> Any:
    value: Any = record
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def _clause(text: str) -> Predicate:
    text = text.strip()
    match = _COMPARE.match(text)
    if match:
        path, op = match.group("path"), match.group("op")
        if match.group("bool") is not None:
            wanted: Any = match.group("bool") == "true"
        else:
            wanted = (match.group("text") if match.group("text") is not None else match.group("guid")).lower()

        def compare(record: dict[str, Any]) -> bool:
            value = _lookup(record, path)
            value = value.lower() if isinstance(value, str) else value
            return (value == wanted) == (op == "==")

        return compare
    match = _METHOD.match(text)
    if match:
        path, method, arg = match.group("path"), match.group("method"), match.group("arg").lower()
        test = {"Contains": str.__contains__, "StartsWith": str.startswith, "EndsWith": str.endswith}[method]
        return lambda record: isinstance(v := _lookup(record, path), str) and test(v.lower(), arg)
    raise ValueError(f"The sandbox cannot evaluate the filter '{text}'")


def compile_where(expression: str) -> Predicate:
    alternatives = [[_clause(part) for part in _AND.split(option)] for option in _OR.split(expression.strip())]
    return lambda record: any(all(c(record) for c in clauses) for clauses in alternatives)
