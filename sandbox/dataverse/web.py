"""Request and response helpers shared by the Web API handlers."""

from __future__ import annotations

import json
import re
from typing import Any

from flask import Response, current_app, request

from sandbox.dataverse.errors import DataverseError, bad_request, missing_privilege
from sandbox.dataverse.organisation import DataverseSandbox
from sandbox.dataverse.schema import Table
from sandbox.dataverse.values import is_guid, normalise_guid

API_PREFIX = "/api/data/v9.2/"
INTERNAL = "sandbox.dataverse.internal"
SEGMENT = re.compile(r"^(?P<name>[A-Za-z_$][\w.]*)(?:\((?P<key>[^)]*)\))?$")
NAMED_KEY = re.compile(r"^(\w+)='([^']*)'$")


def current_sandbox() -> DataverseSandbox:
    return current_app.extensions["dataverse_sandbox"]


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


def annotations_wanted(prefs: dict[str, str]) -> bool:
    value = prefs.get("odata.include-annotations", "")
    return value == "*" or "FormattedValue" in value or "Microsoft.Dynamics.CRM" in value


def entity_headers(table: Table, record_id: str) -> dict[str, str]:
    return {"OData-EntityId": f"{base_url()}{table.entity_set}({record_id})"}


def method_not_allowed() -> DataverseError:
    return DataverseError(405, "0x80060888", f"The HTTP method {request.method} is not allowed here.")
