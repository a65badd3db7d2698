"""The sandbox Dataverse as a Flask app: Web API v9.2 under `/api/data/v9.2/`, admin under `/_sandbox/`.

`create_app()` builds the app; `serve_in_thread()` runs it on a real loopback port for tests and demos.
"""

from __future__ import annotations

import json
import re
import threading
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

from flask import Flask, Response, request
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from sandbox.dataverse import metadata
from sandbox.dataverse.batch import InnerRequest, InnerResponse, parse_batch, render_batch, run_batch
from sandbox.dataverse.csdl import render_csdl
from sandbox.dataverse.dispatcher import WebhookDispatcher
from sandbox.dataverse.errors import UNAUTHORIZED, DataverseError, bad_request, missing_privilege, not_found
from sandbox.dataverse.odata import evaluate, parse_filter, parse_options
from sandbox.dataverse.queries import Reader
from sandbox.dataverse.records import Records, WriteContext, etag_of
from sandbox.dataverse.schema import Table, build_system_schema
from sandbox.dataverse.seed import ADMIN_USERS, BUSINESS_UNIT_ID, DEFAULT_TOKENS, ORGANIZATION_ID, seed
from sandbox.dataverse.settings import DataverseSandboxSettings
from sandbox.dataverse.store import Store
from sandbox.dataverse.throttle import RequestBudget
from sandbox.dataverse.values import Ref, is_guid, normalise_guid

API_PREFIX = "/api/data/v9.2/"
INTERNAL = "sandbox.dataverse.internal"
_SEGMENT = re.compile(r"^(?P<name>[A-Za-z_$][\w.]*)(?:\((?P<key>[^)]*)\))?$")
_NAMED_KEY = re.compile(r"^(\w+)='([^']*)'$")


class DataverseSandbox:
    """Everything one sandbox organisation holds: schema, rows, users, budget and the webhook dispatcher."""

    def __init__(self, settings: DataverseSandboxSettings):
        self.settings = settings
        self.tokens: dict[str, str] = dict(DEFAULT_TOKENS)
        self.admins: set[str] = set(ADMIN_USERS)
        self.budget = RequestBudget(settings.request_budget, settings.budget_window_seconds,
                                    settings.retry_after_seconds)
        self._build()
        self.dispatcher = WebhookDispatcher(self.records, self.reader, settings)
        self.store.on_commit = self.dispatcher.on_commit

    def _build(self) -> None:
        self.store = Store(build_system_schema())
        self.records = Records(self.store)
        self.reader = Reader(self.store)
        if self.settings.seed:
            seed(self.records)

    def reset(self) -> None:
        """Back to the seeded state: data, custom metadata, registrations and the delivery log."""
        self.dispatcher.wait_idle(timeout=self.settings.webhook_timeout_seconds * 2 + 5)
        self._build()
        self.dispatcher.records, self.dispatcher.reader = self.records, self.reader
        self.dispatcher.reset()
        self.store.on_commit = self.dispatcher.on_commit
        self.budget.configure(self.settings.request_budget)

    def wait_for_webhooks(self, timeout: float = 30.0) -> bool:
        return self.dispatcher.wait_idle(timeout)


# ---- request helpers -------------------------------------------------------------------------------------

def prefer() -> dict[str, str]:
    prefs: dict[str, str] = {}
    for header in request.headers.getlist("Prefer"):
        for item in header.split(","):
            name, _, value = item.strip().partition("=")
            prefs[name.strip()] = value.strip().strip('"')
    return prefs


def json_body() -> Any:
    if not request.data:
        return {}
    try:
        return json.loads(request.data)
    except ValueError:
        raise bad_request("The request body is not valid JSON.") from None


def respond(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    response = Response(json.dumps(body), status=status, mimetype="application/json")
    response.headers["OData-Version"] = "4.0"
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def no_content(headers: dict[str, str] | None = None) -> Response:
    response = Response(status=204)
    del response.headers["Content-Type"]
    response.headers["OData-Version"] = "4.0"
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def base_url() -> str:
    return request.host_url.rstrip("/") + API_PREFIX


def guid_key(key: str | None, what: str) -> str:
    if key is None or not is_guid(key):
        raise bad_request(f"Unrecognized 'Edm.Guid' literal '{key}' for the key of {what}.")
    return normalise_guid(key)


def bypassed_modes(user_id: str, is_admin: bool) -> frozenset[int]:
    """Step modes skipped for this request: BypassCustomPluginExecution skips synchronous logic only,
    BypassBusinessLogicExecution names CustomSync and/or CustomAsync. Both need an administrator's privilege."""
    modes: set[int] = set()
    if request.headers.get("MSCRM.BypassCustomPluginExecution", "").lower() == "true":
        if not is_admin:
            raise missing_privilege(user_id, "prvBypassCustomPlugins")
        modes.add(0)
    logic = {v.strip() for v in request.headers.get("MSCRM.BypassBusinessLogicExecution", "").split(",") if v.strip()}
    if logic:
        if not is_admin:
            raise missing_privilege(user_id, "prvBypassCustomBusinessLogic")
        if "CustomSync" in logic:
            modes.add(0)
        if "CustomAsync" in logic:
            modes.add(1)
    return frozenset(modes)


# ---- the app ---------------------------------------------------------------------------------------------

def create_app(settings: DataverseSandboxSettings | None = None) -> Flask:
    sandbox = DataverseSandbox(settings or DataverseSandboxSettings())
    app = Flask("sandbox.dataverse")
    app.extensions["dataverse_sandbox"] = sandbox

    @app.errorhandler(DataverseError)
    def on_dataverse_error(error: DataverseError) -> Response:
        return respond(error.body(), error.status, error.headers)

    def caller() -> WriteContext:
        header = request.headers.get("Authorization", "")
        token = header[7:].strip() if header.lower().startswith("bearer ") else ""
        user_id = sandbox.tokens.get(token)
        if user_id is None:
            raise DataverseError(401, UNAUTHORIZED, "The user is not authenticated: a valid bearer token is "
                                 "required.", headers={"WWW-Authenticate": "Bearer"})
        if not request.environ.get(INTERNAL):
            sandbox.budget.spend(user_id)
        is_admin = user_id in sandbox.admins
        return WriteContext(user_id=user_id, correlation_id=str(uuid.uuid4()), is_admin=is_admin,
                            tag=request.args.get("tag"), bypassed_modes=bypassed_modes(user_id, is_admin))

    @app.route(API_PREFIX.rstrip("/") + "/", methods=["GET"])
    def service_document() -> Response:
        caller()
        sets = [{"name": t.entity_set, "kind": "EntitySet", "url": t.entity_set}
                for t in sandbox.store.schema.tables.values()]
        return respond({"@odata.context": base_url() + "$metadata", "value": sets})

    @app.route(API_PREFIX + "<path:path>", methods=["GET", "POST", "PATCH", "PUT", "DELETE"])
    def web_api(path: str) -> Response:
        ctx = caller()
        segments = path.split("/")
        first = _SEGMENT.match(segments[0])
        if first is None:
            raise bad_request(f"Resource not found for the segment '{segments[0]}'.")
        name, key = first.group("name"), first.group("key")
        rest = segments[1:]
        if name == "WhoAmI":
            return respond({"@odata.context": base_url() + "$metadata#Microsoft.Dynamics.CRM.WhoAmIResponse",
                            "BusinessUnitId": BUSINESS_UNIT_ID, "UserId": ctx.user_id,
                            "OrganizationId": ORGANIZATION_ID})
        if name == "$batch" and request.method == "POST":
            return batch(ctx)
        if name == "$metadata" and request.method == "GET":
            with sandbox.store.lock:
                return Response(render_csdl(sandbox.store.schema), mimetype="application/xml",
                                headers={"OData-Version": "4.0"})
        if name in ("EntityDefinitions", "RelationshipDefinitions", "InsertOptionValue", "PublishXml",
                    "PublishAllXml"):
            return metadata_api(ctx, name, key, rest)
        with sandbox.store.lock:
            table = sandbox.store.schema.by_entity_set(name)
        if table is None:
            raise DataverseError(404, "0x80060888", f"Resource not found for the segment '{name}'.")
        if key is None:
            if rest:
                raise bad_request(f"Resource not found for the segment '{rest[0]}'.")
            return collection(ctx, table)
        record_id = guid_key(key, table.logical_name)
        if rest:
            return navigation(ctx, table, record_id, rest)
        return single(ctx, table, record_id)

    # ---- rows -------------------------------------------------------------------------------------------

    def annotations_wanted(prefs: dict[str, str]) -> bool:
        value = prefs.get("odata.include-annotations", "")
        return value in ("*", "OData.Community.Display.V1.FormattedValue") or "FormattedValue" in value or \
            "Microsoft.Dynamics.CRM" in value

    def entity_headers(table: Table, record_id: str) -> dict[str, str]:
        return {"OData-EntityId": f"{base_url()}{table.entity_set}({record_id})"}

    def representation(table: Table, record_id: str, status: int, prefs: dict[str, str]) -> Response:
        options = parse_options(request.args)
        row = sandbox.store.get(table.logical_name, record_id)
        assert row is not None
        body = sandbox.reader.one(table, row, options, annotations_wanted(prefs))
        body = {"@odata.context": f"{base_url()}$metadata#{table.entity_set}/$entity", **body}
        headers = {**entity_headers(table, record_id), "Preference-Applied": "return=representation"}
        return respond(body, status, headers)

    def collection(ctx: WriteContext, table: Table) -> Response:
        prefs = prefer()
        if request.method == "POST":
            row = sandbox.records.create(table, json_body(), ctx)
            record_id = row[table.primary_id]
            if prefs.get("return") == "representation":
                return representation(table, record_id, 201, prefs)
            return no_content(entity_headers(table, record_id))
        if request.method != "GET":
            raise DataverseError(405, "0x80060888", f"The HTTP method {request.method} is not allowed here.")
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
        return respond(body, headers={"Preference-Applied": ",".join(applied)} if applied else None)

    def single(ctx: WriteContext, table: Table, record_id: str) -> Response:
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
            _, created = sandbox.records.upsert(table, record_id, json_body(), ctx,
                                                if_match=request.headers.get("If-Match"),
                                                if_none_match=request.headers.get("If-None-Match"))
            if prefs.get("return") == "representation":
                return representation(table, record_id, 201 if created else 200, prefs)
            return no_content(entity_headers(table, record_id))
        if request.method == "DELETE":
            sandbox.records.delete(table, record_id, ctx)
            return no_content()
        raise DataverseError(405, "0x80060888", f"The HTTP method {request.method} is not allowed here.")

    def navigation(ctx: WriteContext, table: Table, record_id: str, rest: list[str]) -> Response:
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
            mine = [r for r in sandbox.store.table_rows(child.logical_name).values()
                    if r.get(coll.column) == Ref(table.logical_name, record_id)]
            page = sandbox.reader.query(child, options, sandbox.settings.max_page_size,
                                        annotations_wanted(prefer()), base_rows=mine)
            return respond({"@odata.context": f"{base_url()}$metadata#{child.entity_set}", "value": page.items})
        col = table.by_web_name(name)
        if col is None or not col.valid_for_read:
            raise bad_request(f"Resource not found for the segment '{name}'.")
        value = sandbox.reader.represent(table, row, [name])[name]
        return respond({"@odata.context": f"{base_url()}$metadata#{table.entity_set}({record_id})/{name}",
                        "value": value})

    # ---- $batch -----------------------------------------------------------------------------------------

    def batch(ctx: WriteContext) -> Response:
        parts = parse_batch(request.headers.get("Content-Type", ""), request.get_data())
        authorization = request.headers.get("Authorization", "")
        host_url = request.host_url
        client = app.test_client()

        def execute(inner: InnerRequest) -> InnerResponse:
            parts_of_url = urlsplit(inner.url)
            path = parts_of_url.path if parts_of_url.path.startswith("/") else API_PREFIX + parts_of_url.path
            headers = {**inner.headers, "Authorization": authorization}
            response = client.open(path, method=inner.method, query_string=parts_of_url.query, headers=headers,
                                   data=inner.body, environ_base={INTERNAL: True}, base_url=host_url)
            kept = {k: v for k, v in response.headers.items() if k.lower() not in ("content-length", "server",
                                                                                  "date")}
            return InnerResponse(response.status_code, kept, response.get_data())

        results = run_batch(parts, execute, sandbox.store, "odata.continue-on-error" in prefer())
        body, content_type = render_batch(results)
        return Response(body, status=200, content_type=content_type, headers={"OData-Version": "4.0"})

    # ---- metadata ---------------------------------------------------------------------------------------

    def entity_by_key(key: str | None) -> Table:
        schema = sandbox.store.schema
        match = _NAMED_KEY.match(key or "")
        if match and match.group(1) == "LogicalName":
            table = schema.tables.get(match.group(2))
        elif key and is_guid(key):
            table = next((t for t in schema.tables.values() if t.metadata_id == normalise_guid(key)), None)
        else:
            raise bad_request(f"Invalid key '{key}' for EntityDefinitions.")
        if table is None:
            raise DataverseError(404, "0x80040217", f"Could not find entity with key {key}.")
        return table

    def listing(items: list[dict[str, Any]], context: str) -> Response:
        filter_text = request.args.get("$filter")
        if filter_text:
            tree = parse_filter(filter_text, lambda name: None)
            items = [i for i in items if evaluate(tree, i)]
        select = request.args.get("$select")
        if select:
            keep = {s.strip() for s in select.split(",")} | {"MetadataId", "@odata.type"}
            items = [{k: v for k, v in i.items() if k in keep} for i in items]
        return respond({"@odata.context": f"{base_url()}$metadata#{context}", "value": items})

    def pick(item: dict[str, Any]) -> dict[str, Any]:
        select = request.args.get("$select")
        if not select:
            return item
        keep = {s.strip() for s in select.split(",")} | {"MetadataId", "@odata.type", "Attributes", "OptionSet"}
        return {k: v for k, v in item.items() if k in keep}

    def metadata_api(ctx: WriteContext, name: str, key: str | None, rest: list[str]) -> Response:
        method = request.method
        expand = request.args.get("$expand", "")
        with sandbox.store.lock:
            if name in ("PublishXml", "PublishAllXml") and method == "POST":
                metadata.require_admin(sandbox.records, ctx, "prvPublishCustomization")
                return no_content()
            if name == "InsertOptionValue" and method == "POST":
                metadata.require_admin(sandbox.records, ctx, "prvWriteAttribute")
                value = metadata.insert_option_value(sandbox.records, json_body())
                return respond({"@odata.context": f"{base_url()}$metadata#Microsoft.Dynamics.CRM."
                                "InsertOptionValueResponse", "NewOptionValue": value})
            if name == "RelationshipDefinitions":
                return relationships(ctx, key, rest)
            if name != "EntityDefinitions":
                raise DataverseError(405, "0x80060888", f"The HTTP method {method} is not allowed here.")
            schema = sandbox.store.schema
            if key is None:
                if method == "POST":
                    metadata.require_admin(sandbox.records, ctx, "prvCreateEntity")
                    table = metadata.create_entity(sandbox.records, json_body())
                    return no_content({"OData-EntityId": f"{base_url()}EntityDefinitions({table.metadata_id})"})
                items = [metadata.entity_metadata(t, "Attributes" in expand) for t in schema.tables.values()]
                return listing(items, "EntityDefinitions")
            table = entity_by_key(key)
            if not rest:
                if method != "GET":
                    raise DataverseError(405, "0x80060888", "Only GET is supported on a table definition here.")
                body = pick(metadata.entity_metadata(table, "Attributes" in expand))
                return respond({"@odata.context": f"{base_url()}$metadata#EntityDefinitions/$entity", **body})
            return attributes(ctx, table, rest)

    def attributes(ctx: WriteContext, table: Table, rest: list[str]) -> Response:
        segment = _SEGMENT.match(rest[0])
        if segment is None or segment.group("name") != "Attributes":
            raise bad_request(f"Resource not found for the segment '{rest[0]}'.")
        cast = rest[1].removeprefix("Microsoft.Dynamics.CRM.") if len(rest) > 1 else None
        key = segment.group("key")
        if key is None:
            if request.method == "POST":
                metadata.require_admin(sandbox.records, ctx, "prvCreateAttribute")
                col = metadata.create_attribute(sandbox.records, table, json_body())
                return no_content({"OData-EntityId": f"{base_url()}EntityDefinitions({table.metadata_id})/"
                                                     f"Attributes({col.metadata_id})"})
            items = [metadata.attribute_metadata(table, c) for c in table.columns.values()]
            if cast:
                items = [i for i in items if i["@odata.type"] == f"#Microsoft.Dynamics.CRM.{cast}"]
            return listing(items, f"EntityDefinitions('{table.logical_name}')/Attributes")
        match = _NAMED_KEY.match(key)
        if match and match.group(1) == "LogicalName":
            col = table.columns.get(match.group(2))
        elif is_guid(key):
            col = next((c for c in table.columns.values() if c.metadata_id == normalise_guid(key)), None)
        else:
            raise bad_request(f"Invalid key '{key}' for Attributes.")
        if col is None:
            raise DataverseError(404, "0x80040217", f"Could not find attribute with key {key} on "
                                                    f"{table.logical_name}.")
        if request.method == "PUT":
            metadata.require_admin(sandbox.records, ctx, "prvWriteAttribute")
            metadata.update_attribute(table, col, json_body())
            return no_content()
        if request.method != "GET":
            raise DataverseError(405, "0x80060888", f"The HTTP method {request.method} is not allowed here.")
        body = metadata.attribute_metadata(table, col)
        if cast and body["@odata.type"] != f"#Microsoft.Dynamics.CRM.{cast}":
            raise bad_request(f"The attribute {col.logical_name} is not a {cast}.")
        return respond({"@odata.context": f"{base_url()}$metadata#EntityDefinitions('{table.logical_name}')/"
                                          "Attributes/$entity", **pick(body)})

    def relationships(ctx: WriteContext, key: str | None, rest: list[str]) -> Response:
        schema = sandbox.store.schema
        if key is None:
            if request.method == "POST":
                metadata.require_admin(sandbox.records, ctx, "prvCreateRelationship")
                rel = metadata.create_relationship(sandbox.records, json_body())
                return no_content({"OData-EntityId": f"{base_url()}RelationshipDefinitions({rel.metadata_id})"})
            items = [metadata.relationship_metadata(r) for r in schema.relationships.values()]
            return listing(items, "RelationshipDefinitions")
        match = _NAMED_KEY.match(key)
        if match and match.group(1) == "SchemaName":
            rel = schema.relationships.get(match.group(2))
        elif is_guid(key):
            rel = next((r for r in schema.relationships.values() if r.metadata_id == normalise_guid(key)), None)
        else:
            raise bad_request(f"Invalid key '{key}' for RelationshipDefinitions.")
        if rel is None:
            raise DataverseError(404, "0x80040217", f"Could not find relationship with key {key}.")
        if request.method != "GET" or rest:
            raise DataverseError(405, "0x80060888", "Only GET is supported on a relationship definition here.")
        return respond({"@odata.context": f"{base_url()}$metadata#RelationshipDefinitions/$entity",
                        **pick(metadata.relationship_metadata(rel))})

    # ---- sandbox administration (no auth: loopback only, for tests and demos) ----------------------------

    @app.post("/_sandbox/reset")
    def admin_reset() -> Response:
        sandbox.reset()
        return respond({"reset": True})

    @app.route("/_sandbox/service-protection", methods=["GET", "PUT", "POST"])
    def admin_budget() -> Response:
        if request.method != "GET":
            body = json_body()
            budget = body.get("budget")
            if budget is not None and (not isinstance(budget, int) or budget < 0):
                raise bad_request("budget must be a non-negative integer or null.")
            sandbox.budget.configure(budget, body.get("window_seconds"), body.get("retry_after_seconds"))
        return respond({"budget": sandbox.budget.budget, "window_seconds": sandbox.budget.window_seconds,
                        "retry_after_seconds": sandbox.budget.retry_after_seconds})

    @app.get("/_sandbox/webhooks/deliveries")
    def admin_deliveries() -> Response:
        return respond({"value": [d.summary() for d in list(sandbox.dispatcher.deliveries)]})

    @app.post("/_sandbox/webhooks/wait")
    def admin_wait() -> Response:
        timeout = float(request.args.get("timeout", "30"))
        return respond({"idle": sandbox.wait_for_webhooks(timeout)})

    @app.get("/_sandbox/health")
    def admin_health() -> Response:
        return respond({"status": "ok"})

    return app


def sandbox_of(app: Flask) -> DataverseSandbox:
    return app.extensions["dataverse_sandbox"]


@dataclass
class RunningDataverse:
    """A sandbox serving on a real port; the Web API lives at `{url}/api/data/v9.2/`."""

    url: str
    app: Flask
    server: BaseWSGIServer
    thread: threading.Thread

    @property
    def api_url(self) -> str:
        return self.url + API_PREFIX

    @property
    def sandbox(self) -> DataverseSandbox:
        return sandbox_of(self.app)

    def wait_for_webhooks(self, timeout: float = 30.0) -> bool:
        """True once every webhook delivery queued so far has finished."""
        return self.sandbox.wait_for_webhooks(timeout)

    def deliveries(self) -> list[dict[str, Any]]:
        return [d.summary() for d in list(self.sandbox.dispatcher.deliveries)]

    def set_request_budget(self, budget: int | None, window_seconds: float | None = None,
                           retry_after_seconds: int | None = None) -> None:
        self.sandbox.budget.configure(budget, window_seconds, retry_after_seconds)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)
        self.sandbox.dispatcher.stop()


class QuietRequestHandler(WSGIRequestHandler):
    """Keeps test output clean: one access-log line per request is noise here."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return


def serve_in_thread(settings: DataverseSandboxSettings | None = None, host: str = "127.0.0.1",
                    port: int = 0) -> RunningDataverse:
    app = create_app(settings)
    server = make_server(host, port, app, threaded=True, request_handler=QuietRequestHandler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="dataverse-sandbox",
                              daemon=True)
    thread.start()
    return RunningDataverse(f"http://{host}:{server.server_port}", app, server, thread)
