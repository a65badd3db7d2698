"""Web API handlers for rows: entity-set collections, single rows and navigation from a row."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from flask import Response, request

from sandbox.dataverse import change_tracking
from sandbox.dataverse.errors import bad_request, not_found
from sandbox.dataverse.odata import parse_options
from sandbox.dataverse.records import WriteContext, etag_of
from sandbox.dataverse.schema import Table
from sandbox.dataverse.values import Ref
from sandbox.dataverse.web import (
    annotations_wanted,
    base_url,
    current_sandbox,
    entity_headers,
    json_body,
    method_not_allowed,
    no_content,
    prefer,
    respond,
)


def representation(table: Table, record_id: str, status: int, prefs: dict[str, str]) -> Response:
    sandbox = current_sandbox()
    options = parse_options(request.args)
    row = sandbox.store.get(table.logical_name, record_id)
    assert row is not None
    body = sandbox.reader.one(table, row, options, annotations_wanted(prefs))
    body = {"@odata.context": f"{base_url()}$metadata#{table.entity_set}/$entity", **body}
    headers = {**entity_headers(table, record_id), "Preference-Applied": "return=representation"}
    return respond(body, status, headers)


def collection(ctx: WriteContext, table: Table) -> Response:
    sandbox = current_sandbox()
    prefs = prefer()
    if request.method == "POST":
        row = sandbox.records.create(table, json_body(), ctx)
        record_id = row[table.primary_id]
        if prefs.get("return") == "representation":
            return representation(table, record_id, 201, prefs)
        return no_content(entity_headers(table, record_id))
    if request.method != "GET":
        raise method_not_allowed()
    if change_tracking.DELTA_TOKEN in request.args:
        return delta(table, prefs)
    tracking = change_tracking.TRACK_CHANGES in prefs
    if tracking:
        change_tracking.check_trackable(table, dict(request.args))
    options = parse_options(request.args)
    page_size = sandbox.settings.max_page_size
    if prefs.get("odata.maxpagesize", "").isdigit():
        page_size = max(1, min(int(prefs["odata.maxpagesize"]), sandbox.settings.max_page_size))
    page = sandbox.reader.query(table, options, page_size, annotations_wanted(prefs))
    select = f"({','.join(options.select)})" if options.select else ""
    body: dict[str, Any] = {"@odata.context": f"{base_url()}$metadata#{table.entity_set}{select}"}
    if options.count:
        body["@odata.count"] = min(page.total, 5000)
    body["value"] = page.items
    if page.next_skip is not None:
        args = {k: v for k, v in request.args.items() if k != "$skiptoken"}
        args["$skiptoken"] = str(page.next_skip)
        body["@odata.nextLink"] = f"{base_url()}{table.entity_set}?{urlencode(args)}"
    applied = [f"odata.maxpagesize={page_size}"] if "odata.maxpagesize" in prefs else []
    if annotations_wanted(prefs):
        applied.append(f'odata.include-annotations="{prefs["odata.include-annotations"]}"')
    if tracking:
        applied.append(change_tracking.TRACK_CHANGES)
        if page.next_skip is None:
            token = change_tracking.token_now(sandbox.store)
            body["@odata.deltaLink"] = change_tracking.delta_link(base_url(), table, options, token)
    return respond(body, headers={"Preference-Applied": ",".join(applied)} if applied else None)


def delta(table: Table, prefs: dict[str, str]) -> Response:
    """Following a delta link: what changed since its token, and the next link."""
    sandbox = current_sandbox()
    args = dict(request.args)
    change_tracking.check_trackable(table, args)
    version = change_tracking.version_of(args.pop(change_tracking.DELTA_TOKEN))
    options = parse_options(args)
    with sandbox.store.lock:
        sandbox.reader.validate(table, options)
        changed, deleted = change_tracking.changes_since(sandbox.store, table, version)
        annotations = annotations_wanted(prefs)
        items = [sandbox.reader.represent(table, row, options.select, annotations) for row in changed]
        items += [change_tracking.deleted_entry(base_url(), table, record_id) for record_id in deleted]
        token = change_tracking.token_now(sandbox.store)
    select = f"({','.join(options.select)})" if options.select else ""
    body = {
        "@odata.context": f"{base_url()}$metadata#{table.entity_set}{select}/$delta",
        "@odata.deltaLink": change_tracking.delta_link(base_url(), table, options, token),
        "value": items,
    }
    return respond(body)


def single(ctx: WriteContext, table: Table, record_id: str) -> Response:
    sandbox = current_sandbox()
    prefs = prefer()
    if request.method == "GET":
        row = sandbox.store.get(table.logical_name, record_id)
        if row is None:
            raise not_found(table.logical_name, record_id)
        if request.headers.get("If-None-Match") == etag_of(row):
            return Response(status=304)
        body = sandbox.reader.one(table, row, parse_options(request.args), annotations_wanted(prefs))
        return respond({"@odata.context": f"{base_url()}$metadata#{table.entity_set}/$entity", **body})
    if request.method == "PATCH":
        _, created = sandbox.records.upsert(
            table,
            record_id,
            json_body(),
            ctx,
            if_match=request.headers.get("If-Match"),
            if_none_match=request.headers.get("If-None-Match"),
        )
        if prefs.get("return") == "representation":
            return representation(table, record_id, 201 if created else 200, prefs)
        return no_content(entity_headers(table, record_id))
    if request.method == "DELETE":
        sandbox.records.delete(table, record_id, ctx)
        return no_content()
    raise method_not_allowed()


def navigation(ctx: WriteContext, table: Table, record_id: str, rest: list[str]) -> Response:
    sandbox = current_sandbox()
    if request.method == "DELETE" and len(rest) == 2 and rest[1] == "$ref" and rest[0] in table.navigations:
        # Disassociate: clear a single-valued lookup, an Update of the row like any other.
        nav = table.navigations[rest[0]]
        with sandbox.store.transaction():
            if sandbox.store.get(table.logical_name, record_id) is None:
                raise not_found(table.logical_name, record_id)
            sandbox.records.check_write(table, "Write", ctx)
            sandbox.records.update(table, record_id, {nav.column: None}, ctx)
        return no_content()
    if request.method != "GET" or len(rest) != 1:
        raise bad_request(f"Resource not found for the segment '{'/'.join(rest)}'.")
    row = sandbox.store.get(table.logical_name, record_id)
    if row is None:
        raise not_found(table.logical_name, record_id)
    name = rest[0]
    options = parse_options(request.args)
    if name in table.collections:
        coll = table.collections[name]
        child = sandbox.store.schema.tables[coll.table]
        mine = [
            r
            for r in sandbox.store.table_rows(child.logical_name).values()
            if r.get(coll.column) == Ref(table.logical_name, record_id)
        ]
        page = sandbox.reader.query(
            child, options, sandbox.settings.max_page_size, annotations_wanted(prefer()), base_rows=mine
        )
        return respond({"@odata.context": f"{base_url()}$metadata#{child.entity_set}", "value": page.items})
    col = table.by_web_name(name)
    if col is None or not col.valid_for_read:
        raise bad_request(f"Resource not found for the segment '{name}'.")
    value = sandbox.reader.represent(table, row, [name])[name]
    return respond({"@odata.context": f"{base_url()}$metadata#{table.entity_set}({record_id})/{name}", "value": value})
