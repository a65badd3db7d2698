"""Actions on roles and apps: AddPrivilegesRole, RetrieveRolePrivilegesRole, AddAppComponents.

Shapes from the Web API reference: a RolePrivilege is {Depth: Basic|Local|Deep|Global, PrivilegeId,
BusinessUnitId}; a privilege can only be given at a depth it supports (`canbe<depth>`). AddAppComponents takes
{AppId, Components: [{"@odata.type": "Microsoft.Dynamics.CRM.<entity|savedquery|systemform|sitemap>", <id>}]}.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sandbox.dataverse.customization_tables import DEPTH_MASKS
from sandbox.dataverse.customizations import app_ref
from sandbox.dataverse.errors import INVALID_ARGUMENT, NOT_FOUND, DataverseError, bad_request, not_found
from sandbox.dataverse.schema import new_id
from sandbox.dataverse.values import is_guid, normalise_guid

if TYPE_CHECKING:
    from sandbox.dataverse.records import Records

MASK_DEPTHS = {mask: depth for depth, mask in DEPTH_MASKS.items()}
# @odata.type of a component -> (its id property, component type, where to find it)
APP_COMPONENTS = {
    "Microsoft.Dynamics.CRM.entity": ("entityid", 1, None),
    "Microsoft.Dynamics.CRM.savedquery": ("savedqueryid", 26, "savedquery"),
    "Microsoft.Dynamics.CRM.systemform": ("formid", 60, "systemform"),
    "Microsoft.Dynamics.CRM.sitemap": ("sitemapid", 62, "sitemap"),
}


def _guid(value: Any, what: str) -> str:
    if not isinstance(value, str) or not is_guid(value):
        raise bad_request(f"{what} must be a Guid.", INVALID_ARGUMENT)
    return normalise_guid(value)


def add_privileges_role(records: Records, role_id: str, body: Any) -> None:
    store = records.store
    if store.get("role", role_id) is None:
        raise not_found("role", role_id)
    privileges = body.get("Privileges") if isinstance(body, dict) else None
    if not isinstance(privileges, list) or not privileges:
        raise bad_request("Privileges must be a non-empty list of RolePrivilege.", INVALID_ARGUMENT)
    planned: dict[str, int] = {}
    for item in privileges:
        if not isinstance(item, dict):
            raise bad_request("Each privilege must be a RolePrivilege object.", INVALID_ARGUMENT)
        privilege_id = _guid(item.get("PrivilegeId"), "PrivilegeId")
        depth = item.get("Depth")
        privilege = store.get("privilege", privilege_id)
        if privilege is None:
            raise DataverseError(404, NOT_FOUND, f"No privilege has the id {privilege_id}.")
        if depth not in DEPTH_MASKS:
            raise bad_request(f"Depth must be one of {', '.join(DEPTH_MASKS)} (got {depth!r}).", INVALID_ARGUMENT)
        if not privilege.get(f"canbe{str(depth).lower()}"):
            raise bad_request(f"{privilege['name']} cannot be given at depth {depth}.", INVALID_ARGUMENT)
        planned[privilege_id] = DEPTH_MASKS[depth]
    held = {
        row["privilegeid"]: key for key, row in store.table_rows("roleprivileges").items() if row["roleid"] == role_id
    }
    for privilege_id, mask in planned.items():
        if privilege_id in held:
            records.update_system("roleprivileges", held[privilege_id], {"privilegedepthmask": mask})
        else:
            records.insert_system(
                "roleprivileges",
                {
                    "roleprivilegeid": new_id(),
                    "roleid": role_id,
                    "privilegeid": privilege_id,
                    "privilegedepthmask": mask,
                },
            )


def role_privileges(records: Records, role_id: str) -> list[dict[str, Any]]:
    store = records.store
    role = store.get("role", role_id)
    if role is None:
        raise not_found("role", role_id)
    found = []
    for row in store.table_rows("roleprivileges").values():
        if row["roleid"] != role_id:
            continue
        privilege = store.get("privilege", row["privilegeid"]) or {}
        found.append(
            {
                "Depth": MASK_DEPTHS[row["privilegedepthmask"]],
                "PrivilegeId": row["privilegeid"],
                "BusinessUnitId": role["businessunitid"].id,
                "PrivilegeName": privilege.get("name"),
            }
        )
    return sorted(found, key=lambda p: p["PrivilegeName"] or "")


def add_app_components(records: Records, body: Any) -> None:
    store = records.store
    if not isinstance(body, dict):
        raise bad_request("The body must be a JSON object.", INVALID_ARGUMENT)
    app_id = _guid(body.get("AppId"), "AppId")
    app = store.get("appmodule", app_id)
    if app is None:
        raise not_found("appmodule", app_id)
    components = body.get("Components")
    if not isinstance(components, list) or not components:
        raise bad_request("Components must be a non-empty list.", INVALID_ARGUMENT)
    owner = app_ref(app)
    present = {
        (row["objectid"], row["componenttype"])
        for row in store.table_rows("appmodulecomponent").values()
        if row.get("appmoduleidunique") == owner
    }
    for component in components:
        if not isinstance(component, dict):
            raise bad_request("Each component must be an object with @odata.type and its id.", INVALID_ARGUMENT)
        kind = str(component.get("@odata.type", "")).lstrip("#")
        if kind not in APP_COMPONENTS:
            raise bad_request(f"Component type '{kind}' cannot be added to an app here.", INVALID_ARGUMENT)
        id_property, component_type, table_name = APP_COMPONENTS[kind]
        object_id = _guid(component.get(id_property), id_property)
        exists = (
            any(t.metadata_id == object_id for t in store.schema.tables.values())
            if table_name is None
            else store.get(table_name, object_id) is not None
        )
        if not exists:
            raise DataverseError(404, NOT_FOUND, f"No {kind.rsplit('.', 1)[-1]} has the id {object_id}.")
        if (object_id, component_type) in present:
            continue
        present.add((object_id, component_type))
        records.insert_system(
            "appmodulecomponent",
            {
                "appmodulecomponentid": new_id(),
                "objectid": object_id,
                "componenttype": component_type,
                "appmoduleidunique": owner,
            },
        )
