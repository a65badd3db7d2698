"""The sandbox Dataverse as a Flask app: Web API v9.2 under `/api/data/v9.2/`, admin under `/_sandbox/`.

`create_app()` builds the app; `serve_in_thread()` runs it on a real loopback port for tests and demos.
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass
from typing import Any

from flask import Flask, Response, request
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from sandbox.dataverse.admin_api import admin
from sandbox.dataverse.batch_api import handle_batch
from sandbox.dataverse.csdl import render_csdl
from sandbox.dataverse.customization_actions import add_privileges_role
from sandbox.dataverse.errors import UNAUTHORIZED, DataverseError, bad_request, missing_privilege
from sandbox.dataverse.metadata_api import METADATA_NAMES, metadata_api
from sandbox.dataverse.organisation import DataverseSandbox
from sandbox.dataverse.record_page import pages
from sandbox.dataverse.records import WriteContext
from sandbox.dataverse.rows_api import collection, navigation, single
from sandbox.dataverse.seed import BUSINESS_UNIT_ID, ORGANIZATION_ID
from sandbox.dataverse.settings import DataverseSandboxSettings
from sandbox.dataverse.web import (
    API_PREFIX,
    INTERNAL,
    SEGMENT,
    base_url,
    bypassed_modes,
    guid_key,
    json_body,
    no_content,
    respond,
)

__all__ = ["DataverseSandbox", "DataverseSandboxSettings", "RunningDataverse", "create_app", "serve_in_thread"]


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
            raise DataverseError(
                401,
                UNAUTHORIZED,
                "The user is not authenticated: a valid bearer token is required.",
                headers={"WWW-Authenticate": "Bearer"},
            )
        if not request.environ.get(INTERNAL):
            sandbox.budget.spend(user_id)
            sandbox.count_request(request.method, request.path.removeprefix(API_PREFIX))
        is_admin = user_id in sandbox.admins
        return WriteContext(
            user_id=user_id,
            correlation_id=str(uuid.uuid4()),
            is_admin=is_admin,
            tag=request.args.get("tag"),
            bypassed_modes=bypassed_modes(user_id, is_admin),
        )

    @app.route(API_PREFIX.rstrip("/") + "/", methods=["GET"])
    def service_document() -> Response:
        caller()
        sets = [
            {"name": t.entity_set, "kind": "EntitySet", "url": t.entity_set}
            for t in sandbox.store.schema.tables.values()
        ]
        return respond({"@odata.context": base_url() + "$metadata", "value": sets})

    @app.route(API_PREFIX + "<path:path>", methods=["GET", "POST", "PATCH", "PUT", "DELETE"])
    def web_api(path: str) -> Response:
        ctx = caller()
        segments = path.split("/")
        first = SEGMENT.match(segments[0])
        if first is None:
            raise bad_request(f"Resource not found for the segment '{segments[0]}'.")
        name, key = first.group("name"), first.group("key")
        rest = segments[1:]
        if name == "WhoAmI":
            return respond(
                {
                    "@odata.context": base_url() + "$metadata#Microsoft.Dynamics.CRM.WhoAmIResponse",
                    "BusinessUnitId": BUSINESS_UNIT_ID,
                    "UserId": ctx.user_id,
                    "OrganizationId": ORGANIZATION_ID,
                }
            )
        if name == "$batch" and request.method == "POST":
            return handle_batch(ctx)
        if name == "$metadata" and request.method == "GET":
            with sandbox.store.lock:
                return Response(
                    render_csdl(sandbox.store.schema), mimetype="application/xml", headers={"OData-Version": "4.0"}
                )
        if name in METADATA_NAMES:
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
        if rest == ["Microsoft.Dynamics.CRM.AddPrivilegesRole"] and table.logical_name == "role":
            if request.method != "POST":
                raise bad_request("AddPrivilegesRole is an action: call it with POST.")
            if not ctx.is_admin:
                raise missing_privilege(ctx.user_id, "prvWriteRole")
            with sandbox.store.lock:
                add_privileges_role(sandbox.records, record_id, json_body())
            return no_content()
        if rest:
            return navigation(ctx, table, record_id, rest)
        return single(ctx, table, record_id)

    app.register_blueprint(admin)
    app.register_blueprint(pages)
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

    def set_request_budget(
        self, budget: int | None, window_seconds: float | None = None, retry_after_seconds: int | None = None
    ) -> None:
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


def serve_in_thread(
    settings: DataverseSandboxSettings | None = None, host: str = "127.0.0.1", port: int = 0
) -> RunningDataverse:
    app = create_app(settings)
    server = make_server(host, port, app, threaded=True, request_handler=QuietRequestHandler)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="dataverse-sandbox", daemon=True
    )
    thread.start()
    return RunningDataverse(f"http://{host}:{server.server_port}", app, server, thread)
