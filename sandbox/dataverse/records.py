"""Create, update (upsert), set state and delete rows the way the Dataverse platform does.

Table-specific business rules live in `invoices` and `registration`; this module owns the generic part:
body parsing, binds, defaults, audit columns, concurrency, privileges, cascades and change events.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sandbox.dataverse import customizations, invoices, registration, solutions
from sandbox.dataverse.errors import (
    BAD_REQUEST,
    CONCURRENCY,
    DUPLICATE,
    INVALID_ARGUMENT,
    DataverseError,
    bad_request,
    missing_privilege,
    not_found,
)
from sandbox.dataverse.schema import Kind, Schema, Table, new_id
from sandbox.dataverse.store import ChangeEvent, Row, Store
from sandbox.dataverse.values import Ref, from_json, is_guid, normalise_guid, utcnow

STATE_COLUMNS = frozenset({"statecode", "statuscode"})
BIND_SUFFIX = "@odata.bind"
_BIND_PATH = re.compile(r"(?:^|/)([A-Za-z0-9_]+)\(([^)]+)\)$")


@dataclass
class WriteContext:
    """Who writes and under which correlation: what the event pipeline puts into the webhook context."""

    user_id: str
    correlation_id: str
    is_admin: bool = False
    depth: int = 1
    tag: str | None = None
    bypassed_modes: frozenset[int] = frozenset()


def etag_of(row: Row) -> str:
    return f'W/"{row.get("versionnumber")}"'


class Records:
    def __init__(self, store: Store):
        self.store = store

    @property
    def schema(self) -> Schema:
        return self.store.schema

    # ---- privileges -------------------------------------------------------------------------------------

    def check_write(self, table: Table, verb: str, ctx: WriteContext) -> None:
        if table.platform_only:
            message = "Update" if verb == "Write" else verb
            raise bad_request(f"The '{message}' method does not support entities of type '{table.logical_name}'.")
        if table.customization_only and not ctx.is_admin:
            raise missing_privilege(ctx.user_id, f"prv{verb}{table.schema_name}")

    # ---- body parsing -----------------------------------------------------------------------------------

    def resolve_bind(self, target_table: str, value: Any, nav: str) -> Ref:
        if not isinstance(value, str):
            raise bad_request(f"The value of the '{nav}{BIND_SUFFIX}' annotation must be a URL.")
        match = _BIND_PATH.search(value.split("?")[0].rstrip("/"))
        target = self.schema.tables.get(target_table)
        if match is None or target is None or match.group(1) != target.entity_set:
            raise bad_request(
                f"The URL '{value}' in the '{nav}{BIND_SUFFIX}' annotation does not address a '{target_table}' record.",
            )
        key = match.group(2).strip("'")
        if not is_guid(key):
            raise bad_request(f"Unrecognized 'Edm.Guid' literal '{key}' in the '{nav}{BIND_SUFFIX}' annotation.")
        record_id = normalise_guid(key)
        if self.store.get(target_table, record_id) is None:
            raise not_found(target_table, record_id)
        return Ref(target_table, record_id)

    def parse_body(self, table: Table, body: Any, creating: bool) -> tuple[Row, list[tuple[str, list[Any]]]]:
        """Internal values for the columns the body sets, and any deep-insert collections (create only)."""
        if not isinstance(body, dict):
            raise bad_request("The request body must be a JSON object.")
        values: Row = {}
        deep: list[tuple[str, list[Any]]] = []
        for key, raw in body.items():
            if key.endswith(BIND_SUFFIX):
                nav_name = key[: -len(BIND_SUFFIX)]
                nav = table.navigations.get(nav_name)
                if nav is None:
                    raise bad_request(
                        f"An undeclared property '{nav_name}' which only has property annotations in the payload "
                        "but no property value was found in the payload. In OData, only declared navigation "
                        "properties and declared named streams can be represented as properties without values.",
                    )
                col = table.columns[nav.column]
                if not (col.valid_for_create if creating else col.valid_for_update):
                    continue  # Dataverse ignores columns that are not valid for this operation.
                ref = None if raw is None else self.resolve_bind(nav.target, raw, nav_name)
                if nav.column in values and values[nav.column] is not None and ref is not None:
                    raise bad_request(f"More than one value was given for the lookup '{nav.column}'.", INVALID_ARGUMENT)
                if ref is not None or nav.column not in values:
                    values[nav.column] = ref
                continue
            if key.startswith("@") or "@" in key:
                continue  # instance annotations such as @odata.type or @odata.etag carry no data
            if key in table.collections and isinstance(raw, list):
                if not creating:
                    raise bad_request(f"Deep update of '{key}' is not supported; write the related rows.")
                deep.append((key, raw))
                continue
            col = table.columns.get(key)
            if col is None or col.is_lookup:
                raise bad_request(
                    f"The property '{key}' does not exist on type 'Microsoft.Dynamics.CRM.{table.logical_name}'. "
                    "Make sure to only use property names that are defined by the type.",
                    BAD_REQUEST,
                )
            if not (col.valid_for_create if creating else col.valid_for_update):
                continue
            values[key] = from_json(col, raw, table.logical_name)
        return values, deep

    # ---- create -----------------------------------------------------------------------------------------

    def blank_row(self, table: Table) -> Row:
        row: Row = {name: None for name in table.columns}
        for name, col in table.columns.items():
            if col.kind is Kind.BOOLEAN:
                row[name] = False
        return row

    def stamp(self, table: Table, row: Row, user_id: str, creating: bool) -> None:
        now = utcnow()
        if creating:
            row["createdon"] = now
            row["createdby"] = Ref("systemuser", user_id)
            if "ownerid" in table.columns and row.get("ownerid") is None:
                row["ownerid"] = Ref("systemuser", user_id)
        row["modifiedon"] = now
        row["modifiedby"] = Ref("systemuser", user_id)
        row["versionnumber"] = self.store.next_version()

    def create(self, table: Table, body: Any, ctx: WriteContext, record_id: str | None = None) -> Row:
        self.check_write(table, "Create", ctx)
        values, deep = self.parse_body(table, body, creating=True)
        with self.store.transaction():
            row = self.insert(table, values, ctx, record_id)
            for nav_name, children in deep:
                nav = table.collections[nav_name]
                child_table = self.schema.tables[nav.table]
                for child in children:
                    child_values, _ = self.parse_body(child_table, child, creating=True)
                    child_values[nav.column] = Ref(table.logical_name, row[table.primary_id])
                    self.insert(child_table, child_values, ctx, None)
            return self.store.get(table.logical_name, row[table.primary_id]) or row

    def insert(self, table: Table, values: Row, ctx: WriteContext, record_id: str | None, emit: bool = True) -> Row:
        record_id = record_id or values.get(table.primary_id) or new_id()
        rows = self.store.table_rows(table.logical_name)
        if record_id in rows:
            raise DataverseError(412, DUPLICATE, "A record with matching key values already exists.")
        row = self.blank_row(table)
        row.update(values)
        row[table.primary_id] = record_id
        if table.state_status:
            state = row.get("statecode")
            state = 0 if state is None else state
            if state not in table.state_status:
                raise bad_request(f"{state} is not a valid state code on {table.logical_name}.", INVALID_ARGUMENT)
            row["statecode"] = state
            if row.get("statuscode") is None:
                row["statuscode"] = table.default_status(state)
            self.check_state_pair(table, state, row["statuscode"])
        self.stamp(table, row, ctx.user_id, creating=True)
        for name, col in table.columns.items():
            if col.required and row.get(name) is None and name not in ("invoicenumber",):
                raise bad_request(
                    f"Attribute '{name}' cannot be NULL: a value is required to create a {table.logical_name}.",
                    INVALID_ARGUMENT,
                )
        invoices.before_create(self, table, row)
        registration.before_create(self, table, row)
        solutions.check(self, table, row)
        customizations.check(self, table, row)
        with self.store.transaction():
            rows[record_id] = row
            if emit:
                self.store.emit(
                    ChangeEvent(
                        "Create",
                        table.logical_name,
                        record_id,
                        target=dict(row),
                        pre=None,
                        post=dict(row),
                        user_id=ctx.user_id,
                        correlation_id=ctx.correlation_id,
                        depth=ctx.depth,
                        tag=ctx.tag,
                        bypassed_modes=ctx.bypassed_modes,
                        changed_by_caller=frozenset(values),
                    )
                )
            invoices.after_write(self, table, None, row, ctx)
        return row

    def check_state_pair(self, table: Table, state: int, status: int) -> None:
        allowed = table.state_status.get(state)
        if allowed is None:
            raise bad_request(f"{state} is not a valid state code on {table.logical_name}.", INVALID_ARGUMENT)
        if status not in allowed:
            raise bad_request(
                f"{status} is not a valid status code for state code {table.schema_name}State."
                f"{table.columns['statecode'].options.get(state, state)} on {table.logical_name} "
                "with Id {0}.",
                INVALID_ARGUMENT,
            )

    # ---- update / upsert --------------------------------------------------------------------------------

    def upsert(
        self,
        table: Table,
        record_id: str,
        body: Any,
        ctx: WriteContext,
        if_match: str | None = None,
        if_none_match: str | None = None,
    ) -> tuple[Row, bool]:
        """PATCH semantics: update when the row exists, create it (with this id) when it does not."""
        with self.store.transaction():
            existing = self.store.get(table.logical_name, record_id)
            if existing is None:
                if if_match is not None:
                    raise not_found(table.logical_name, record_id)
                return self.create(table, body, ctx, record_id=record_id), True
            if if_none_match == "*":
                raise DataverseError(412, DUPLICATE, "A record with matching key values already exists.")
            if if_match not in (None, "*") and if_match != etag_of(existing):
                raise DataverseError(
                    412,
                    CONCURRENCY,
                    "The version of the existing record doesn't match the RowVersion property provided.",
                )
            self.check_write(table, "Write", ctx)
            values, _ = self.parse_body(table, body, creating=False)
            values.pop(table.primary_id, None)
            return self.update(table, record_id, values, ctx), False

    def update(self, table: Table, record_id: str, values: Row, ctx: WriteContext) -> Row:
        """Apply the columns, then the state: a PATCH mixing both runs as two Update operations."""
        state_part = {k: v for k, v in values.items() if k in STATE_COLUMNS and table.state_status}
        normal_part = {k: v for k, v in values.items() if k not in state_part}
        with self.store.transaction():
            current = self.store.get(table.logical_name, record_id)
            if current is None:
                raise not_found(table.logical_name, record_id)
            invoices.check_editable(self, table, current, normal_part, state_part)
            if normal_part or not state_part:
                self.apply(table, record_id, normal_part, ctx)
            if state_part:
                self.set_state(table, record_id, state_part, ctx)
            return self.store.get(table.logical_name, record_id) or current

    def apply(
        self, table: Table, record_id: str, changes: Row, ctx: WriteContext, emit: bool = True, depth: int | None = None
    ) -> Row:
        rows = self.store.table_rows(table.logical_name)
        pre = rows[record_id]
        row = dict(pre)
        row.update(changes)
        invoices.before_update(self, table, pre, row)
        registration.before_update(self, table, pre, row)
        solutions.check(self, table, row)
        customizations.check(self, table, row)
        self.stamp(table, row, ctx.user_id, creating=False)
        rows[record_id] = row
        if emit:
            target = {k: row[k] for k in changes}
            target.update(
                {table.primary_id: record_id, "modifiedon": row["modifiedon"], "modifiedby": row["modifiedby"]}
            )
            self.store.emit(
                ChangeEvent(
                    "Update",
                    table.logical_name,
                    record_id,
                    target=target,
                    pre=dict(pre),
                    post=dict(row),
                    user_id=ctx.user_id,
                    correlation_id=ctx.correlation_id,
                    depth=ctx.depth if depth is None else depth,
                    tag=ctx.tag,
                    bypassed_modes=ctx.bypassed_modes,
                    changed_by_caller=frozenset(changes),
                )
            )
        invoices.after_write(self, table, pre, row, ctx)
        return row

    def set_state(self, table: Table, record_id: str, state_part: Row, ctx: WriteContext) -> Row:
        current = self.store.table_rows(table.logical_name)[record_id]
        state = state_part.get("statecode", current["statecode"])
        status = state_part.get("statuscode")
        if status is None:
            status = table.default_status(state) if state in table.state_status else None
        if state not in table.state_status or status is None:
            raise bad_request(f"{state} is not a valid state code on {table.logical_name}.", INVALID_ARGUMENT)
        self.check_state_pair(table, state, status)
        invoices.check_state_change(table, current, state)
        return self.apply(table, record_id, {"statecode": state, "statuscode": status}, ctx)

    # ---- delete -----------------------------------------------------------------------------------------

    def delete(self, table: Table, record_id: str, ctx: WriteContext, cascading: bool = False) -> None:
        if not cascading:
            self.check_write(table, "Delete", ctx)
        with self.store.transaction():
            rows = self.store.table_rows(table.logical_name)
            row = rows.get(record_id)
            if row is None:
                raise not_found(table.logical_name, record_id)
            if not cascading:
                invoices.check_deletable(self, table, row)
                solutions.check_deletable(table, row)
            self.cascade(table, record_id, ctx)
            del rows[record_id]
            self.store.emit(
                ChangeEvent(
                    "Delete",
                    table.logical_name,
                    record_id,
                    target={},
                    pre=dict(row),
                    post=None,
                    user_id=ctx.user_id,
                    correlation_id=ctx.correlation_id,
                    depth=ctx.depth,
                    tag=ctx.tag,
                    bypassed_modes=ctx.bypassed_modes,
                )
            )
            if not cascading:
                invoices.after_write(self, table, row, None, ctx)

    def cascade(self, table: Table, record_id: str, ctx: WriteContext) -> None:
        for rel in self.schema.relationships_to(table.logical_name):
            child_table = self.schema.tables[rel.referencing_entity]
            ref = Ref(table.logical_name, record_id)
            children = [
                cid
                for cid, child in self.store.table_rows(child_table.logical_name).items()
                if child.get(rel.referencing_attribute) == ref
            ]
            for child_id in children:
                if rel.cascade_delete == "Cascade":
                    self.delete(child_table, child_id, ctx, cascading=True)
                elif rel.cascade_delete == "Restrict":
                    raise bad_request(
                        f"The record cannot be deleted because it is associated with another record "
                        f"({child_table.logical_name}).",
                        "0x80040227",
                    )
                else:
                    child_rows = self.store.table_rows(child_table.logical_name)
                    child_rows[child_id] = {**child_rows[child_id], rel.referencing_attribute: None}

    # ---- system writes (seed data, system jobs): no events, no privileges, no business rules --------------

    def insert_system(self, logical_name: str, values: Row, user_id: str | None = None) -> Row:
        from sandbox.dataverse.seed import CONNECTOR_USER_ID

        table = self.schema.tables[logical_name]
        row = self.blank_row(table)
        row.update(values)
        if table.state_status:
            row["statecode"] = row.get("statecode") or 0
            if row.get("statuscode") is None:
                row["statuscode"] = table.default_status(row["statecode"])
        self.stamp(table, row, user_id or CONNECTOR_USER_ID, creating=True)
        if logical_name in ("contact", "systemuser"):
            row["fullname"] = " ".join(p for p in (row.get("firstname"), row.get("lastname")) if p)
        self.store.table_rows(logical_name)[row[table.primary_id]] = row
        return row

    def update_system(self, logical_name: str, record_id: str, values: Row) -> None:
        rows = self.store.table_rows(logical_name)
        row = dict(rows[record_id])
        row.update(values)
        row["modifiedon"] = utcnow()
        row["versionnumber"] = self.store.next_version()
        rows[record_id] = row
