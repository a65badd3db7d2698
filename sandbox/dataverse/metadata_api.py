"""Web API handlers for the metadata endpoints: EntityDefinitions, Attributes, RelationshipDefinitions, actions."""

from __future__ import annotations

import re
from typing import Any

from flask import Response, request

from sandbox.dataverse import customization_actions, customizations, metadata, solutions
from sandbox.dataverse.errors import DataverseError, bad_request
from sandbox.dataverse.odata import evaluate, parse_filter
from sandbox.dataverse.records import WriteContext
from sandbox.dataverse.schema import Table
from sandbox.dataverse.solution_import import import_solution_async
from sandbox.dataverse.values import is_guid, normalise_guid
from sandbox.dataverse.web import NAMED_KEY, SEGMENT, base_url, current_sandbox, json_body, no_content, respond

NAMED_KEY_UNQUOTED = re.compile(r"^(\w+)=([0-9A-Fa-f-]{36})$")
ROLE_PRIVILEGES_RESPONSE = "Microsoft.Dynamics.CRM.RetrieveRolePrivilegesRoleResponse"
METADATA_NAMES = frozenset(
    {
        "EntityDefinitions",
        "RelationshipDefinitions",
        "InsertOptionValue",
        "PublishXml",
        "PublishAllXml",
        "AddSolutionComponent",
        "AddAppComponents",
        "RetrieveRolePrivilegesRole",
        "ImportSolutionAsync",
    }
)


def solution_target() -> solutions.SolutionTarget:
    """The solutions a metadata write goes into, from the MSCRM.SolutionUniqueName header."""
    return solutions.target(current_sandbox().records, request.headers.get(solutions.SOLUTION_HEADER))


def entity_by_key(key: str | None) -> Table:
    sandbox = current_sandbox()
    schema = sandbox.store.schema
    match = NAMED_KEY.match(key or "")
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
    sandbox = current_sandbox()
    method = request.method
    expand = request.args.get("$expand", "")
    with sandbox.store.lock:
        if name in ("PublishXml", "PublishAllXml") and method == "POST":
            metadata.require_admin(sandbox.records, ctx, "prvPublishCustomization")
            if name == "PublishXml":
                body = json_body()
                customizations.publish(sandbox.records, body.get("ParameterXml") if isinstance(body, dict) else None)
            else:
                customizations.publish_all(sandbox.records)
            return no_content()
        if name == "ImportSolutionAsync" and method == "POST":
            metadata.require_admin(sandbox.records, ctx, "prvImportSolution")
            answer = import_solution_async(sandbox.records, ctx, json_body())
            context = "Microsoft.Dynamics.CRM.ImportSolutionAsyncResponse"
            return respond({"@odata.context": f"{base_url()}$metadata#{context}", **answer})
        if name == "AddAppComponents" and method == "POST":
            metadata.require_admin(sandbox.records, ctx, "prvWriteAppModule")
            customization_actions.add_app_components(sandbox.records, json_body())
            return no_content()
        if name == "RetrieveRolePrivilegesRole" and method == "GET":
            match = NAMED_KEY_UNQUOTED.match(key or "")
            if match is None or match.group(1) != "RoleId" or not is_guid(match.group(2)):
                raise bad_request("RetrieveRolePrivilegesRole needs RoleId=<guid>.")
            found = customization_actions.role_privileges(sandbox.records, normalise_guid(match.group(2)))
            return respond(
                {
                    "@odata.context": base_url()
                    + "$metadata#Microsoft.Dynamics.CRM.RetrieveRolePrivilegesRoleResponse",
                    "RolePrivileges": found,
                }
            )
        if name == "InsertOptionValue" and method == "POST":
            metadata.require_admin(sandbox.records, ctx, "prvWriteAttribute")
            body = json_body()
            # The action names its solution in the body; the name must exist like the header's.
            solutions.target(sandbox.records, body.get("SolutionUniqueName") or None)
            value = metadata.insert_option_value(sandbox.records, body)
            return respond(
                {
                    "@odata.context": f"{base_url()}$metadata#Microsoft.Dynamics.CRM.InsertOptionValueResponse",
                    "NewOptionValue": value,
                }
            )
        if name == "AddSolutionComponent" and method == "POST":
            metadata.require_admin(sandbox.records, ctx, "prvWriteSolution")
            component_id = solutions.add_solution_component(sandbox.records, json_body())
            return respond(
                {
                    "@odata.context": f"{base_url()}$metadata#Microsoft.Dynamics.CRM.AddSolutionComponentResponse",
                    "id": component_id,
                }
            )
        if name == "RelationshipDefinitions":
            return relationships(ctx, key, rest)
        if name != "EntityDefinitions":
            raise DataverseError(405, "0x80060888", f"The HTTP method {method} is not allowed here.")
        schema = sandbox.store.schema
        if key is None:
            if method == "POST":
                metadata.require_admin(sandbox.records, ctx, "prvCreateEntity")
                table = metadata.create_entity(sandbox.records, json_body(), solution_target())
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
    sandbox = current_sandbox()
    segment = SEGMENT.match(rest[0])
    if segment is None or segment.group("name") != "Attributes":
        raise bad_request(f"Resource not found for the segment '{rest[0]}'.")
    cast = rest[1].removeprefix("Microsoft.Dynamics.CRM.") if len(rest) > 1 else None
    key = segment.group("key")
    if key is None:
        if request.method == "POST":
            metadata.require_admin(sandbox.records, ctx, "prvCreateAttribute")
            col = metadata.create_attribute(sandbox.records, table, json_body(), solution_target())
            return no_content(
                {"OData-EntityId": f"{base_url()}EntityDefinitions({table.metadata_id})/Attributes({col.metadata_id})"}
            )
        items = [metadata.attribute_metadata(table, c) for c in table.columns.values()]
        if cast:
            items = [i for i in items if i["@odata.type"] == f"#Microsoft.Dynamics.CRM.{cast}"]
        return listing(items, f"EntityDefinitions('{table.logical_name}')/Attributes")
    match = NAMED_KEY.match(key)
    if match and match.group(1) == "LogicalName":
        col = table.columns.get(match.group(2))
    elif is_guid(key):
        col = next((c for c in table.columns.values() if c.metadata_id == normalise_guid(key)), None)
    else:
        raise bad_request(f"Invalid key '{key}' for Attributes.")
    if col is None:
        raise DataverseError(404, "0x80040217", f"Could not find attribute with key {key} on {table.logical_name}.")
    if request.method == "PUT":
        metadata.require_admin(sandbox.records, ctx, "prvWriteAttribute")
        where = solution_target()
        metadata.update_attribute(table, col, json_body())
        solutions.record(sandbox.records, where, col.metadata_id, solutions.ATTRIBUTE)
        return no_content()
    if request.method != "GET":
        raise DataverseError(405, "0x80060888", f"The HTTP method {request.method} is not allowed here.")
    body = metadata.attribute_metadata(table, col)
    if cast and body["@odata.type"] != f"#Microsoft.Dynamics.CRM.{cast}":
        raise bad_request(f"The attribute {col.logical_name} is not a {cast}.")
    return respond(
        {
            "@odata.context": f"{base_url()}$metadata#EntityDefinitions('{table.logical_name}')/Attributes/$entity",
            **pick(body),
        }
    )


def relationships(ctx: WriteContext, key: str | None, rest: list[str]) -> Response:
    sandbox = current_sandbox()
    schema = sandbox.store.schema
    if key is None:
        if request.method == "POST":
            metadata.require_admin(sandbox.records, ctx, "prvCreateRelationship")
            rel = metadata.create_relationship(sandbox.records, json_body(), solution_target())
            return no_content({"OData-EntityId": f"{base_url()}RelationshipDefinitions({rel.metadata_id})"})
        items = [metadata.relationship_metadata(r) for r in schema.relationships.values()]
        return listing(items, "RelationshipDefinitions")
    match = NAMED_KEY.match(key)
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
    return respond(
        {
            "@odata.context": f"{base_url()}$metadata#RelationshipDefinitions/$entity",
            **pick(metadata.relationship_metadata(rel)),
        }
    )
