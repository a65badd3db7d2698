"""`provision`, second half: the views, forms, security roles and app of `app.dynamics_ui`.

Like the schema half it only adds: a missing view, role, site map or app is created; a main form gets the
tabs, sections, fields and subgrids it lacks (merged into whatever an admin made of it); a role gets the
privileges it lacks or holds too narrowly. Views, roles and apps that exist are not rewritten, so an admin's
edits stay. What changed is returned so that one PublishXml publishes it all.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from xml.sax.saxutils import escape

from app import dynamics_ui as ui
from app.clients.dataverse_batch import BatchOperation
from app.dynamics_schema import ALL_TABLES
from plugins_registration import ui_xml
from plugins_registration.errors import RegistrationError
from plugins_registration.report import ChangeReport
from plugins_registration.webapi import WebApi

MAIN_FORM = 2
DEFAULT_APP_ICON = "953b9fac-1e5e-e611-80d6-00155ded156f"  # the app icon web resource every organisation has
UNIFIED_INTERFACE = 4


@dataclass
class Published:
    """What a PublishXml must name after this run."""

    tables: dict[str, None] = field(default_factory=dict)
    apps: list[str] = field(default_factory=list)
    site_maps: list[str] = field(default_factory=list)

    def xml(self) -> str:
        def listed(outer: str, inner: str, items: list[str]) -> str:
            return f"<{outer}>{''.join(f'<{inner}>{escape(i)}</{inner}>' for i in items)}</{outer}>" if items else ""

        return (
            "<importexportxml>"
            + listed("entities", "entity", list(self.tables))
            + listed("appmodules", "appmodule", [f"{{{i}}}" for i in self.apps])
            + listed("sitemaps", "sitemap", [f"{{{i}}}" for i in self.site_maps])
            + "</importexportxml>"
        )

    def __bool__(self) -> bool:
        return bool(self.tables or self.apps or self.site_maps)


@dataclass
class Known:
    """What the organisation has, read in a few queries up front (a dry run's new tables are absent)."""

    tables: dict[str, dict[str, Any]]  # logical name -> ObjectTypeCode, MetadataId
    views: set[str]
    main_forms: dict[str, dict[str, Any]]  # the form the connector adds to, per table

    @classmethod
    def read(cls, api: WebApi) -> Known:
        names = sorted({t.logical_name for t in ALL_TABLES})
        tables = api.get_all(
            "EntityDefinitions",
            {
                "$select": "LogicalName,ObjectTypeCode,MetadataId",
                "$filter": " or ".join(f"LogicalName eq '{name}'" for name in names),
            },
        )
        view_ids = [view.view_id for view in ui.VIEWS]
        views = api.get_all(
            "savedqueries", {"$filter": _in_filter("savedqueryid", view_ids), "$select": "savedqueryid"}
        )
        form_tables = sorted({form.table for form in ui.FORMS})
        forms = api.get_all(
            "systemforms",
            {
                "$filter": f"type eq {MAIN_FORM} and {_in_filter('objecttypecode', form_tables)}",
                "$select": "formid,name,formxml,isdefault,objecttypecode",
            },
        )
        return cls(
            tables={str(t.get("LogicalName")): t for t in tables},
            views={str(v.get("savedqueryid")) for v in views},
            main_forms={name: chosen for name in form_tables if (chosen := choose_main_form(forms, name))},
        )


def provision_ui(api: WebApi, report: ChangeReport, headers: dict[str, str] | None, published: Published) -> None:
    known = Known.read(api)
    _views(api, report, headers, known, published)
    _forms(api, report, headers, known, published)
    _roles(api, report, headers)
    _app(api, report, headers, known, published)


def _views(
    api: WebApi, report: ChangeReport, headers: dict[str, str] | None, known: Known, published: Published
) -> None:
    """Missing views, created in one change set (there are many, and they have no order among them)."""
    creates = []
    for view in ui.VIEWS:
        if view.view_id in known.views:
            continue
        report.change(f"create view '{view.name}' of {view.table}")
        published.tables[view.table] = None
        if report.dry_run:
            continue
        body = {
            "savedqueryid": view.view_id,
            "name": view.name,
            "description": view.description,
            "returnedtypecode": view.table,
            "querytype": view.query_type,
            "fetchxml": ui_xml.fetch_xml(view),
            "layoutxml": ui_xml.layout_xml(view, int(known.tables[view.table]["ObjectTypeCode"])),
        }
        creates.append(BatchOperation("POST", "savedqueries", body, headers or {}))
    if creates:
        api.batch(creates)


def choose_main_form(forms: list[dict[str, Any]], table_name: str) -> dict[str, Any] | None:
    """The form the connector adds to: its own if it made one, else the table's default main form."""
    mine = ui.fixed_id("form", table_name)
    candidates = [f for f in forms if f.get("objecttypecode") == table_name]
    candidates.sort(key=lambda f: (f["formid"] != mine, not f.get("isdefault"), str(f.get("name"))))
    return candidates[0] if candidates else None


def _forms(
    api: WebApi, report: ChangeReport, headers: dict[str, str] | None, known: Known, published: Published
) -> None:
    for definition in ui.FORMS:
        existing = known.main_forms.get(definition.table)
        if existing is None:
            known.main_forms[definition.table] = {"formid": definition.form_id}
            report.change(f"create main form '{definition.name}' of {definition.table}")
            published.tables[definition.table] = None
            if not report.dry_run:
                api.post(
                    "systemforms",
                    {
                        "formid": definition.form_id,
                        "name": definition.name,
                        "objecttypecode": definition.table,
                        "type": MAIN_FORM,
                        "formxml": ui_xml.new_form(definition),
                    },
                    headers,
                )
            continue
        merged, added = ui_xml.merge_form(str(existing["formxml"]), definition)
        if merged is None:
            continue
        report.change(f"add to the {definition.table} form '{existing['name']}': {', '.join(added)}")
        published.tables[definition.table] = None
        if not report.dry_run:
            api.patch(f"systemforms({existing['formid']})", {"formxml": merged})


def _roles(api: WebApi, report: ChangeReport, headers: dict[str, str] | None) -> None:
    business_unit = str(api.get("WhoAmI").get("BusinessUnitId"))
    for role in ui.ROLES:
        exists = api.get_optional(f"roles({role.role_id})", {"$select": "roleid"}) is not None
        if not exists:
            report.change(f"create security role '{role.name}'")
            if not report.dry_run:
                api.post(
                    "roles",
                    {
                        "roleid": role.role_id,
                        "name": role.name,
                        "description": role.description,
                        "businessunitid@odata.bind": f"/businessunits({business_unit})",
                    },
                    headers,
                )
        held = _held_privileges(api, role.role_id) if exists else {}
        wanted = {name: depth.name for name, depth in role.privileges().items()}
        missing = {
            name: depth for name, depth in wanted.items() if name not in held or ui.Depth[held[name]] < ui.Depth[depth]
        }
        if not missing:
            continue
        report.change(f"give '{role.name}' {len(missing)} privilege(s): {', '.join(sorted(missing))}")
        if report.dry_run:
            continue
        ids = _privilege_ids(api, list(missing))
        body = {
            "Privileges": [
                {"Depth": depth, "PrivilegeId": ids[name], "BusinessUnitId": business_unit}
                for name, depth in sorted(missing.items())
            ]
        }
        api.post(f"roles({role.role_id})/Microsoft.Dynamics.CRM.AddPrivilegesRole", body)


def _held_privileges(api: WebApi, role_id: str) -> dict[str, str]:
    found = api.get(f"RetrieveRolePrivilegesRole(RoleId={role_id})")
    held: dict[str, str] = {}
    names = _privilege_names(api, [str(p["PrivilegeId"]) for p in found.get("RolePrivileges") or []])
    for item in found.get("RolePrivileges") or []:
        name = names.get(str(item["PrivilegeId"]))
        if name:
            held[name] = str(item["Depth"])
    return held


def _in_filter(column: str, values: list[str]) -> str:
    quoted = ",".join(f"'{value}'" for value in values)
    return f"Microsoft.Dynamics.CRM.In(PropertyName='{column}',PropertyValues=[{quoted}])"


def _privilege_names(api: WebApi, ids: list[str]) -> dict[str, str]:
    if not ids:
        return {}
    rows = api.get_all("privileges", {"$filter": _in_filter("privilegeid", ids), "$select": "privilegeid,name"})
    return {str(row["privilegeid"]): str(row["name"]) for row in rows}


def _privilege_ids(api: WebApi, names: list[str]) -> dict[str, str]:
    rows = api.get_all("privileges", {"$filter": _in_filter("name", names), "$select": "privilegeid,name"})
    found = {str(row["name"]): str(row["privilegeid"]) for row in rows}
    absent = sorted(set(names) - set(found))
    if absent:
        raise RegistrationError(f"Dataverse has no privilege named {', '.join(absent)}: were the tables created?")
    return found


def _app(api: WebApi, report: ChangeReport, headers: dict[str, str] | None, known: Known, published: Published) -> None:
    app = ui.APP
    if api.get_optional(f"sitemaps({app.site_map_id})", {"$select": "sitemapid"}) is None:
        report.change(f"create site map of the '{app.name}' app")
        published.site_maps.append(app.site_map_id)
        if not report.dry_run:
            api.post(
                "sitemaps",
                {
                    "sitemapid": app.site_map_id,
                    "sitemapname": app.name,
                    "sitemapnameunique": app.unique_name,
                    "sitemapxml": ui_xml.site_map_xml(app),
                    "isappaware": True,
                },
                headers,
            )
    found = api.get_optional(f"appmodules({app.app_id})", {"$select": "appmoduleid,appmoduleidunique"})
    if found is None:
        report.change(f"create app '{app.name}'")
        if report.dry_run:
            published.apps.append(app.app_id)
            return
        api.post(
            "appmodules",
            {
                "appmoduleid": app.app_id,
                "name": app.name,
                "uniquename": app.unique_name,
                "description": app.description,
                "webresourceid": DEFAULT_APP_ICON,
                "clienttype": UNIFIED_INTERFACE,
            },
            headers,
        )
        found = api.get(f"appmodules({app.app_id})", {"$select": "appmoduleid,appmoduleidunique"})
    present = {
        (str(row["objectid"]), int(row["componenttype"]))
        for row in api.get_all(
            "appmodulecomponents",
            {
                "$filter": f"_appmoduleidunique_value eq {found.get('appmoduleidunique')}",
                "$select": "objectid,componenttype",
            },
        )
    }
    missing = [c for c in _app_components(known) if (c[1], c[2]) not in present]
    if not missing:
        return
    report.change(f"add {len(missing)} component(s) to the '{app.name}' app")
    published.apps.append(app.app_id)
    if not report.dry_run:
        api.post("AddAppComponents", {"AppId": app.app_id, "Components": [c[0] for c in missing]})


def _app_components(known: Known) -> list[tuple[dict[str, str], str, int]]:
    """(body, object id, component type) of the site map, tables, views and main forms the app shows."""
    app = ui.APP
    crm = "Microsoft.Dynamics.CRM"
    components = [({"@odata.type": f"{crm}.sitemap", "sitemapid": app.site_map_id}, app.site_map_id, 62)]
    for name in app.tables():
        entity = known.tables.get(name)
        if entity is not None and entity.get("MetadataId"):
            metadata_id = str(entity["MetadataId"])
            components.append(({"@odata.type": f"{crm}.entity", "entityid": metadata_id}, metadata_id, 1))
        # The forms the connector shapes; the other tables open in whatever main form they have.
        form = known.main_forms.get(name)
        if form is not None:
            form_id = str(form["formid"])
            components.append(({"@odata.type": f"{crm}.systemform", "formid": form_id}, form_id, 60))
    for view in ui.VIEWS:
        if view.table in app.tables():
            components.append(({"@odata.type": f"{crm}.savedquery", "savedqueryid": view.view_id}, view.view_id, 26))
    return components
