"""The tables that hold what users see: forms, views, apps and site maps, security roles and privileges.

Their rows are written through the ordinary Web API (by a system administrator only, like the registration
tables) and checked by `customizations.check` before they are stored.
"""

from __future__ import annotations

from sandbox.dataverse.schema import ACTIVE_INACTIVE, Column, Kind, Schema, Table

ORG_ONLY = {"ownership": "OrganizationOwned", "customization_only": True}

FORM_TYPES = {
    0: "Dashboard",
    2: "Main",
    5: "Mobile",
    6: "Quick View Form",
    7: "Quick Create",
    11: "Main - Interactive experience",
}
QUERY_TYPES = {0: "Public view", 1: "Advanced find", 2: "Associated view", 4: "Quick find", 64: "Lookup view"}
DEPTH_MASKS = {"Basic": 1, "Local": 2, "Deep": 4, "Global": 8}
ACCESS_RIGHTS = {
    "Read": 1,
    "Write": 2,
    "Append": 4,
    "AppendTo": 16,
    "Create": 32,
    "Delete": 65536,
    "Share": 262144,
    "Assign": 524288,
}


def _string(name: str, length: int = 100, **kw: object) -> Column:
    return Column(name, Kind.STRING, max_length=length, **kw)  # type: ignore[arg-type]


def add_customization_tables(schema: Schema) -> None:
    t = schema.add_table
    t(
        Table(
            "businessunit",
            "businessunits",
            "businessunitid",
            "name",
            "BusinessUnit",
            "Business Unit",
            "Business Units",
            object_type_code=10,
            **ORG_ONLY,
        )
    ).add(_string("name", 160, required=True))
    t(
        Table(
            "systemform",
            "systemforms",
            "formid",
            "name",
            "SystemForm",
            "System Form",
            "System Forms",
            object_type_code=1030,
            **ORG_ONLY,
        )
    ).add(
        _string("name", 100, required=True),
        Column("description", Kind.MEMO, max_length=2000),
        # The Web API spells the table of a form by its logical name (EntityName type).
        _string("objecttypecode", 64, required=True, valid_for_update=False),
        Column("type", Kind.PICKLIST, options=dict(FORM_TYPES), required=True, valid_for_update=False),
        Column("formxml", Kind.MEMO, max_length=1073741823, required=True),
        Column("isdefault", Kind.BOOLEAN),
        Column("formactivationstate", Kind.PICKLIST, options={0: "Inactive", 1: "Active"}, valid_for_create=False),
        Column("iscustomizable", Kind.BOOLEAN, valid_for_create=False, valid_for_update=False),
        Column("publishedon", Kind.DATETIME, valid_for_create=False, valid_for_update=False),
    )
    t(
        Table(
            "savedquery",
            "savedqueries",
            "savedqueryid",
            "name",
            "SavedQuery",
            "View",
            "Views",
            object_type_code=1039,
            state_status=dict(ACTIVE_INACTIVE),
            **ORG_ONLY,
        )
    ).add(
        _string("name", 200, required=True),
        Column("description", Kind.MEMO, max_length=2000),
        _string("returnedtypecode", 64, required=True, valid_for_update=False),
        Column("querytype", Kind.INTEGER, required=True, valid_for_update=False),
        Column("fetchxml", Kind.MEMO, max_length=1073741823, required=True),
        Column("layoutxml", Kind.MEMO, max_length=1073741823, required=True),
        Column("isdefault", Kind.BOOLEAN),
        Column("isquickfindquery", Kind.BOOLEAN),
        Column("iscustomizable", Kind.BOOLEAN, valid_for_create=False, valid_for_update=False),
    )
    t(
        Table(
            "sitemap",
            "sitemaps",
            "sitemapid",
            "sitemapname",
            "SiteMap",
            "Site Map",
            "Site Maps",
            object_type_code=4709,
            **ORG_ONLY,
        )
    ).add(
        _string("sitemapname", 200),
        _string("sitemapnameunique", 200, valid_for_update=False),
        Column("sitemapxml", Kind.MEMO, max_length=1073741823, required=True),
        Column("isappaware", Kind.BOOLEAN),
    )
    t(
        Table(
            "appmodule",
            "appmodules",
            "appmoduleid",
            "name",
            "AppModule",
            "Model-driven App",
            "Model-driven Apps",
            object_type_code=9006,
            state_status=dict(ACTIVE_INACTIVE),
            **ORG_ONLY,
        )
    ).add(
        _string("name", 200, required=True),
        _string("uniquename", 200, required=True, valid_for_update=False),
        Column("description", Kind.MEMO, max_length=2000),
        Column("webresourceid", Kind.ID, required=True),
        Column("clienttype", Kind.INTEGER),
        Column("appmoduleidunique", Kind.ID, valid_for_create=False, valid_for_update=False),
        Column("publishedon", Kind.DATETIME, valid_for_create=False, valid_for_update=False),
    )
    t(
        Table(
            "appmodulecomponent",
            "appmodulecomponents",
            "appmodulecomponentid",
            "",
            "AppModuleComponent",
            "App Module Component",
            "App Module Components",
            object_type_code=9007,
            platform_only=True,
            **ORG_ONLY,
        )
    ).add(
        Column("objectid", Kind.ID),
        Column(
            "componenttype",
            Kind.PICKLIST,
            options={1: "Entity", 26: "View", 60: "Form", 62: "Sitemap"},
        ),
        # Points at the app's appmoduleidunique (not its appmoduleid), as in Dataverse.
        Column("appmoduleidunique", Kind.LOOKUP, "AppModuleIdUnique", targets=("appmodule",)),
    )
    t(
        Table(
            "privilege",
            "privileges",
            "privilegeid",
            "name",
            "Privilege",
            "Privilege",
            "Privileges",
            object_type_code=1023,
            platform_only=True,
            **ORG_ONLY,
        )
    ).add(
        _string("name", 100),
        Column("accessright", Kind.INTEGER),
        *(Column(f"canbe{depth.lower()}", Kind.BOOLEAN) for depth in DEPTH_MASKS),
    )
    t(
        Table(
            "role",
            "roles",
            "roleid",
            "name",
            "Role",
            "Security Role",
            "Security Roles",
            object_type_code=1036,
            **ORG_ONLY,
        )
    ).add(_string("name", 100, required=True), Column("description", Kind.MEMO, max_length=2000))
    schema.lookup(
        "role",
        Column("businessunitid", Kind.LOOKUP, "BusinessUnitId", targets=("businessunit",), required=True),
        "businessunit",
        "businessunitid",
        "business_unit_roles",
    )
    t(
        Table(
            "roleprivileges",
            "roleprivilegescollection",
            "roleprivilegeid",
            "",
            "RolePrivileges",
            "Role Privilege",
            "Role Privileges",
            object_type_code=12,
            platform_only=True,
            **ORG_ONLY,
        )
    ).add(
        Column("roleid", Kind.ID),
        Column("privilegeid", Kind.ID),
        Column("privilegedepthmask", Kind.INTEGER),
    )
