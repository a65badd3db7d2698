"""OData query options as Dataverse understands them: $filter, $select, $orderby, $top, $count, $expand.

`$filter` is parsed into a small tree of tuples and evaluated against rows in their Web API JSON form, so
lookups are compared through `_x_value`, dates as dates, guids and strings case-insensitively (Dataverse's
collation ignores case).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sandbox.dataverse.errors import bad_request
from sandbox.dataverse.values import parse_datetime

Node = tuple[Any, ...]
_COMPARISONS = {"eq", "ne", "gt", "ge", "lt", "le"}
_FUNCTIONS = {"contains", "startswith", "endswith"}
_CRM = "Microsoft.Dynamics.CRM."
_CRM_FUNCTIONS = {"In", "NotIn", "Null", "NotNull"}
_TOKEN = re.compile(
    r"""\s*(?:
    (?P<string>'(?:[^']|'')*')
  | (?P<guid>[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})(?![\w-])
  | (?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2})?)
  | (?P<date>\d{4}-\d{2}-\d{2})(?![\w-])
  | (?P<number>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?[mMdDfFlL]?)(?![\w])
  | (?P<name>[A-Za-z_][\w.]*(?:/[A-Za-z_][\w.]*)*)
  | (?P<punct>[(),=\[\]])
    )""",
    re.VERBOSE,
)


@dataclass(frozen=True)
class Literal:
    kind: str  # string | guid | number | date | bool | null
    value: Any


def _tokenise(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            raise bad_request(f"Syntax error at position {pos} in '{text}'.")
        kind = match.lastgroup or ""
        tokens.append((kind, match.group(kind)))
        pos = match.end()
    return tokens


class _Parser:
    def __init__(self, text: str, known: Callable[[str], None]):
        self.tokens = _tokenise(text)
        self.pos = 0
        self.known = known
        self.text = text

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise bad_request(f"Syntax error: unexpected end of '{self.text}'.")
        self.pos += 1
        return token

    def expect(self, value: str) -> None:
        token = self.take()
        if token[1] != value:
            raise bad_request(f"Syntax error: '{value}' expected at '{token[1]}' in '{self.text}'.")

    def keyword(self, word: str) -> bool:
        token = self.peek()
        if token is not None and token[0] == "name" and token[1] == word:
            self.pos += 1
            return True
        return False

    def parse(self) -> Node:
        node = self.or_expr()
        if self.peek() is not None:
            raise bad_request(f"Syntax error at '{self.peek()[1]}' in '{self.text}'.")  # type: ignore[index]
        return node

    def or_expr(self) -> Node:
        node = self.and_expr()
        while self.keyword("or"):
            node = ("or", node, self.and_expr())
        return node

    def and_expr(self) -> Node:
        node = self.not_expr()
        while self.keyword("and"):
            node = ("and", node, self.not_expr())
        return node

    def not_expr(self) -> Node:
        if self.keyword("not"):
            return ("not", self.not_expr())
        return self.comparison()

    def comparison(self) -> Node:
        left = self.operand()
        if left[0] == "group":
            return left[1]
        token = self.peek()
        if token is not None and token[0] == "name" and token[1] in _COMPARISONS:
            self.pos += 1
            return ("cmp", token[1], left, self.operand())
        if left[0] in ("func", "bool_property"):
            return left
        raise bad_request(f"Syntax error: a comparison operator was expected in '{self.text}'.")

    def operand(self) -> Node:
        kind, text = self.take()
        if text == "(":
            node = self.or_expr()
            self.expect(")")
            return ("group", node)
        if kind == "string":
            return ("lit", Literal("string", text[1:-1].replace("''", "'")))
        if kind == "guid":
            return ("lit", Literal("guid", text.lower()))
        if kind in ("datetime", "date"):
            return ("lit", Literal("date", parse_datetime(text)))
        if kind == "number":
            try:
                return ("lit", Literal("number", Decimal(text.rstrip("mMdDfFlL"))))
            except InvalidOperation:
                raise bad_request(f"Invalid number literal '{text}'.") from None
        if kind == "name":
            if text in ("true", "false"):
                return ("lit", Literal("bool", text == "true"))
            if text == "null":
                return ("lit", Literal("null", None))
            nxt = self.peek()
            if nxt is not None and nxt[1] == "(":
                return self.function(text)
            self.known(text)
            return ("prop", text)
        raise bad_request(f"Syntax error at '{text}' in '{self.text}'.")

    def function(self, name: str) -> Node:
        if name.startswith(_CRM):
            return self.crm_function(name[len(_CRM) :])
        if name not in _FUNCTIONS:
            raise bad_request(f"An unknown function with name '{name}' was found.")
        self.expect("(")
        prop = self.operand()
        self.expect(",")
        arg = self.operand()
        self.expect(")")
        return ("func", name, prop, arg)

    def crm_function(self, name: str) -> Node:
        """Dataverse's own query functions, e.g. Microsoft.Dynamics.CRM.In(PropertyName='x',PropertyValues=[...])."""
        if name not in _CRM_FUNCTIONS:
            raise bad_request(f"An unknown function with name '{_CRM}{name}' was found.")
        self.expect("(")
        args: dict[str, Any] = {}
        while self.peek() is not None and self.peek()[1] != ")":  # type: ignore[index]
            arg_name = self.take()[1]
            self.expect("=")
            if self.peek() is not None and self.peek()[1] == "[":  # type: ignore[index]
                self.take()
                values = []
                while self.peek() is not None and self.peek()[1] != "]":  # type: ignore[index]
                    values.append(self.operand())
                    if self.peek() is not None and self.peek()[1] == ",":  # type: ignore[index]
                        self.take()
                self.expect("]")
                args[arg_name] = values
            else:
                args[arg_name] = self.operand()
            if self.peek() is not None and self.peek()[1] == ",":  # type: ignore[index]
                self.take()
        self.expect(")")
        prop_lit = args.get("PropertyName")
        if prop_lit is None or prop_lit[0] != "lit" or prop_lit[1].kind != "string":
            raise bad_request(f"{_CRM}{name} needs PropertyName='<column>'.")
        prop = prop_lit[1].value
        self.known(prop)
        node: Node
        if name in ("Null", "NotNull"):
            node = ("cmp", "eq", ("prop", prop), ("lit", Literal("null", None)))
        else:
            raw = args.get("PropertyValues")
            if not isinstance(raw, list) or not raw:
                raise bad_request(f"{_CRM}{name} needs PropertyValues=[...].")
            node = ("cmp", "eq", ("prop", prop), raw[0])
            for value in raw[1:]:
                node = ("or", node, ("cmp", "eq", ("prop", prop), value))
        # A group, so the caller treats it as a complete boolean expression.
        return ("group", ("not", node) if name in ("NotNull", "NotIn") else node)


def parse_filter(text: str, known: Callable[[str], None]) -> Node:
    """Parse `$filter`; `known(name)` raises when a property does not exist on the type."""
    return _Parser(text, known).parse()


def _coerce(value: Any, like: Literal) -> Any:
    if value is None:
        return None
    if like.kind == "date":
        return parse_datetime(value) if isinstance(value, str) else value
    if like.kind == "number":
        if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
            raise bad_request(f"A binary operator with incompatible types was detected: '{value}' and a number.")
        return Decimal(str(value))
    if like.kind in ("string", "guid"):
        return str(value).casefold()
    return value


def _compare(op: str, left: Any, right: Any) -> bool:
    if op == "eq":
        return left == right
    if op == "ne":
        return left != right
    if left is None or right is None:
        return False
    try:
        return {"gt": left > right, "ge": left >= right, "lt": left < right, "le": left <= right}[op]
    except TypeError:
        raise bad_request("A binary operator with incompatible types was detected.") from None


def evaluate(node: Node, item: Mapping[str, Any]) -> Any:
    tag = node[0]
    if tag == "or":
        return bool(evaluate(node[1], item)) or bool(evaluate(node[2], item))
    if tag == "and":
        return bool(evaluate(node[1], item)) and bool(evaluate(node[2], item))
    if tag == "not":
        return not evaluate(node[1], item)
    if tag == "func":
        value, arg = evaluate(node[2], item), evaluate(node[3], item)
        if value is None or arg is None:
            return False
        value, arg = str(value).casefold(), str(arg).casefold()
        return {"contains": arg in value, "startswith": value.startswith(arg), "endswith": value.endswith(arg)}[node[1]]
    if tag == "cmp":
        _, op, left, right = node
        lit = right[1] if right[0] == "lit" else left[1] if left[0] == "lit" else None
        lval, rval = evaluate(left, item), evaluate(right, item)
        if lit is not None and lit.kind not in ("null", "bool"):
            lval, rval = _coerce(lval, lit), _coerce(rval, lit)
        return _compare(op, lval, rval)
    if tag == "lit":
        lit = node[1]
        return lit.value.casefold() if lit.kind in ("string", "guid") else lit.value
    if tag == "prop":
        return item.get(node[1])
    raise bad_request("Unsupported filter expression.")


def sort_key(value: Any) -> tuple[int, Any]:
    # Nulls sort first ascending, as in SQL Server.
    if value is None:
        return (0, "")
    if isinstance(value, str):
        return (1, value.casefold())
    if isinstance(value, bool):
        return (1, int(value))
    if isinstance(value, datetime):
        return (1, value.timestamp())
    return (1, value)


def split_top_level(text: str, sep: str) -> list[str]:
    """Split on `sep` outside parentheses and quotes."""
    parts, depth, quoted, current = [], 0, False, []
    for char in text:
        if char == "'":
            quoted = not quoted
        elif not quoted and char == "(":
            depth += 1
        elif not quoted and char == ")":
            depth -= 1
        if char == sep and depth == 0 and not quoted:
            parts.append("".join(current).strip())
            current = []
        else:
            current.append(char)
    if "".join(current).strip():
        parts.append("".join(current).strip())
    return parts


@dataclass
class QueryOptions:
    select: list[str] | None = None
    filter: str | None = None
    orderby: list[tuple[str, bool]] = field(default_factory=list)
    top: int | None = None
    count: bool = False
    expand: dict[str, QueryOptions] = field(default_factory=dict)
    skiptoken: int = 0


_SUPPORTED = {"$select", "$filter", "$orderby", "$top", "$count", "$expand", "$skiptoken", "$deltatoken"}
_NESTED_SUPPORTED = {"$select", "$filter", "$orderby", "$top"}


def parse_options(args: Mapping[str, str], nested: bool = False) -> QueryOptions:
    options = QueryOptions()
    for key, value in args.items():
        if not key.startswith("$"):
            continue
        if key not in (_NESTED_SUPPORTED if nested else _SUPPORTED):
            if nested and key == "$expand":
                raise bad_request("Only a single level of $expand is supported here.")
            raise bad_request(f"The query parameter {key} is not supported")
        if key == "$select":
            options.select = [s.strip() for s in value.split(",") if s.strip()]
        elif key == "$filter":
            options.filter = value
        elif key == "$orderby":
            for part in split_top_level(value, ","):
                bits = part.split()
                if len(bits) not in (1, 2) or (len(bits) == 2 and bits[1] not in ("asc", "desc")):
                    raise bad_request(f"Syntax error in $orderby '{value}'.")
                options.orderby.append((bits[0], len(bits) == 2 and bits[1] == "desc"))
        elif key == "$top":
            if not value.isdigit():
                raise bad_request(f"Invalid value '{value}' for $top query option found.")
            options.top = int(value)
        elif key == "$count":
            if value not in ("true", "false"):
                raise bad_request(f"Invalid value '{value}' for $count query option found.")
            options.count = value == "true"
        elif key == "$skiptoken":
            options.skiptoken = int(value) if value.isdigit() else 0
        elif key == "$expand":
            options.expand = parse_expand(value)
    return options


def parse_expand(text: str) -> dict[str, QueryOptions]:
    expands: dict[str, QueryOptions] = {}
    for part in split_top_level(text, ","):
        match = re.fullmatch(r"([\w.]+)(?:\((.*)\))?", part, re.DOTALL)
        if match is None:
            raise bad_request(f"Syntax error in $expand '{text}'.")
        nested: dict[str, str] = {}
        for opt in split_top_level(match.group(2) or "", ";"):
            name, _, value = opt.partition("=")
            nested[name.strip()] = value.strip()
        expands[match.group(1)] = parse_options(nested, nested=True)
    return expands
