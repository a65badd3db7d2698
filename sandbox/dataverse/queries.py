"""Reading rows: Web API JSON representation (with optional annotations), $select, $filter, $expand, paging."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sandbox.dataverse.errors import bad_request, no_such_property
from sandbox.dataverse.odata import QueryOptions, evaluate, parse_filter, sort_key
from sandbox.dataverse.records import etag_of
from sandbox.dataverse.schema import Column, Table
from sandbox.dataverse.store import Row, Store
from sandbox.dataverse.values import Ref, formatted, to_json

FORMATTED = "@OData.Community.Display.V1.FormattedValue"
LOOKUP_LOGICAL_NAME = "@Microsoft.Dynamics.CRM.lookuplogicalname"
ASSOCIATED_NAV = "@Microsoft.Dynamics.CRM.associatednavigationproperty"


@dataclass
class Page:
    items: list[dict[str, Any]]
    total: int
    next_skip: int | None


class Reader:
    def __init__(self, store: Store):
        self.store = store

    def name_of(self, ref: Ref) -> str | None:
        table = self.store.schema.tables.get(ref.table)
        row = self.store.get(ref.table, ref.id)
        return row.get(table.primary_name) if table and row else None

    def currency_symbol(self, row: Row) -> str:
        ref = row.get("transactioncurrencyid")
        currency = self.store.get("transactioncurrency", ref.id) if isinstance(ref, Ref) else None
        return (currency or {}).get("currencysymbol") or ""

    def columns_for(self, table: Table, select: list[str] | None) -> list[Column]:
        if select is None:
            return [c for c in table.columns.values() if c.valid_for_read]
        columns = []
        for name in select:
            col = table.by_web_name(name)
            if col is None or not col.valid_for_read:
                raise no_such_property(name, table.logical_name)
            columns.append(col)
        primary = table.columns[table.primary_id]
        return columns if primary in columns else [*columns, primary]

    def nav_for_lookup(self, table: Table, col: Column, ref: Ref) -> str | None:
        for nav in table.navigations.values():
            if nav.column == col.logical_name and nav.target == ref.table:
                return nav.name
        return None

    def represent(
        self, table: Table, row: Row, select: list[str] | None = None, annotations: bool = False
    ) -> dict[str, Any]:
        out: dict[str, Any] = {"@odata.etag": etag_of(row)}
        symbol = self.currency_symbol(row) if annotations else ""
        for col in self.columns_for(table, select):
            value = row.get(col.logical_name)
            key = col.web_name
            if annotations and value is not None:
                text = formatted(col, value, symbol, self.name_of)
                if text is not None:
                    out[key + FORMATTED] = text
                if col.is_lookup:
                    out[key + ASSOCIATED_NAV] = self.nav_for_lookup(table, col, value)
                    out[key + LOOKUP_LOGICAL_NAME] = value.table
            out[key] = to_json(value)
        return out

    def property_checker(self, table: Table) -> Any:
        def known(name: str) -> None:
            col = table.by_web_name(name)
            if col is None or not col.valid_for_read:
                raise no_such_property(name, table.logical_name)

        return known

    def matching(self, table: Table, rows: list[Row], options: QueryOptions) -> list[Row]:
        if options.filter:
            tree = parse_filter(options.filter, self.property_checker(table))
            rows = [r for r in rows if evaluate(tree, self.represent(table, r))]
        for name, _ in options.orderby:
            self.property_checker(table)(name)
        for name, descending in reversed(options.orderby):
            col = table.by_web_name(name)
            assert col is not None
            rows = sorted(rows, key=lambda r, c=col: sort_key(to_json(r.get(c.logical_name))), reverse=descending)
        if options.top is not None:
            rows = rows[: options.top]
        return rows

    def query(
        self, table: Table, options: QueryOptions, page_size: int, annotations: bool, base_rows: list[Row] | None = None
    ) -> Page:
        with self.store.lock:
            self.validate(table, options)
            rows = list(self.store.table_rows(table.logical_name).values()) if base_rows is None else base_rows
            if not options.orderby:
                rows = sorted(rows, key=lambda r: (r["createdon"], r["versionnumber"]))
            rows = self.matching(table, rows, options)
            window = rows[options.skiptoken : options.skiptoken + page_size]
            items = [self.with_expansions(table, r, options, annotations) for r in window]
            more = options.skiptoken + page_size < len(rows)
            return Page(items, len(rows), options.skiptoken + page_size if more else None)

    def validate(self, table: Table, options: QueryOptions) -> None:
        """Unknown properties are errors even when no row would be returned."""
        self.columns_for(table, options.select)
        for name, _ in options.orderby:
            self.property_checker(table)(name)
        for name, nested in options.expand.items():
            if name in table.navigations:
                self.columns_for(self.store.schema.tables[table.navigations[name].target], nested.select)
            elif name in table.collections:
                child = self.store.schema.tables[table.collections[name].table]
                self.validate(child, nested)
            else:
                raise no_such_property(name, table.logical_name)

    def one(self, table: Table, row: Row, options: QueryOptions, annotations: bool) -> dict[str, Any]:
        with self.store.lock:
            self.validate(table, options)
            return self.with_expansions(table, row, options, annotations)

    def with_expansions(self, table: Table, row: Row, options: QueryOptions, annotations: bool) -> dict[str, Any]:
        out = self.represent(table, row, options.select, annotations)
        for name, nested in options.expand.items():
            if name in table.navigations:
                nav = table.navigations[name]
                ref = row.get(nav.column)
                target = self.store.schema.tables[nav.target]
                related = (
                    self.store.get(nav.target, ref.id) if isinstance(ref, Ref) and ref.table == nav.target else None
                )
                out[name] = None if related is None else self.represent(target, related, nested.select, annotations)
            elif name in table.collections:
                coll = table.collections[name]
                child_table = self.store.schema.tables[coll.table]
                me = Ref(table.logical_name, row[table.primary_id])
                children = sorted(
                    (c for c in self.store.table_rows(coll.table).values() if c.get(coll.column) == me),
                    key=lambda r: (r["createdon"], r["versionnumber"]),
                )
                children = self.matching(child_table, children, nested)
                out[name] = [self.represent(child_table, c, nested.select, annotations) for c in children]
            else:
                raise bad_request(
                    f"Could not find a property named '{name}' on type 'Microsoft.Dynamics.CRM.{table.logical_name}'."
                )
        return out
