"""ImportSolutionAsync: an unmanaged solution zip applied as Dataverse applies it, tracked by a system job.

The zip must hold `[Content_Types].xml`, `solution.xml` and `customizations.xml`. The manifest's publisher is
created when missing (or must carry the same prefix when it exists), then the solution. From
customizations.xml: missing tables, columns and one-to-many relationships are created in that solution
(their SchemaNames checked against the publisher's prefix, as for metadata writes); forms, views, roles, the
site map and the app are created, or replaced only when `OverwriteUnmanagedCustomizations` is true; role
privileges are added by name. Forms, views and site maps go through the same checks as Web API writes.

The job is finished when the call answers (Dataverse runs it in the background): its `asyncoperations` row is
Succeeded (30), or Failed (31) with the reason in `message`. Nothing is published: call PublishAllXml after.
"""

from __future__ import annotations

import base64
import binascii
import copy
import io
import uuid
import zipfile
from typing import TYPE_CHECKING, Any
from xml.etree.ElementTree import Element, tostring

from sandbox.dataverse import customization_actions, customization_xml, metadata, solutions
from sandbox.dataverse.customizations import DEFAULT_APP_ICON
from sandbox.dataverse.errors import INVALID_ARGUMENT, DataverseError, bad_request
from sandbox.dataverse.records import WriteContext
from sandbox.dataverse.schema import new_id

if TYPE_CHECKING:
    from sandbox.dataverse.records import Records

IMPORT_SOLUTION_JOB = 103
REQUIRED_FILES = ("[Content_Types].xml", "solution.xml", "customizations.xml")
MAX_UNZIPPED_BYTES = 32 * 1024 * 1024
METADATA_TYPES = {
    "nvarchar": "StringAttributeMetadata",
    "ntext": "MemoAttributeMetadata",
    "int": "IntegerAttributeMetadata",
    "decimal": "DecimalAttributeMetadata",
    "money": "MoneyAttributeMetadata",
    "bit": "BooleanAttributeMetadata",
    "datetime": "DateTimeAttributeMetadata",
    "picklist": "PicklistAttributeMetadata",
}


def import_solution_async(records: Records, ctx: WriteContext, body: Any) -> dict[str, str]:
    """Checks the request (400 for a bad one), runs the import, and answers the system job's id."""
    if not isinstance(body, dict):
        raise bad_request("The body must be a JSON object.", INVALID_ARGUMENT)
    for flag in ("OverwriteUnmanagedCustomizations", "PublishWorkflows"):
        if not isinstance(body.get(flag), bool):
            raise bad_request(f"{flag} is required and must be true or false.", INVALID_ARGUMENT)
    try:
        content = base64.b64decode(str(body.get("CustomizationFile") or ""), validate=True)
    except (binascii.Error, ValueError):
        raise bad_request("CustomizationFile must be the solution zip, base64-encoded.", INVALID_ARGUMENT) from None
    files = _unzip(content)
    job_id, key = new_id(), str(body.get("ImportJobId") or new_id())
    store = records.store
    # All or nothing, as in Dataverse: the rows roll back with the transaction, the metadata with this copy.
    schema, published = copy.deepcopy(store.schema), dict(store.published_forms)
    try:
        with store.transaction():
            SolutionImport(records, ctx, bool(body["OverwriteUnmanagedCustomizations"])).run(files)
    except (DataverseError, ValueError) as exc:  # ValueError: a number in the XML that is not one
        store.schema, store.published_forms = schema, published
        reason = exc.message if isinstance(exc, DataverseError) else f"The solution file is not valid: {exc}."
        outcome = {"statecode": 3, "statuscode": 31, "message": reason, "friendlymessage": reason}
    else:
        outcome = {"statecode": 3, "statuscode": 30}
    records.insert_system(
        "asyncoperation",
        {
            "asyncoperationid": job_id,
            "name": "Import Solution",
            "operationtype": IMPORT_SOLUTION_JOB,
            "primaryentitytype": "solution",
            "messagename": "ImportSolution",
            "correlationid": ctx.correlation_id,
            **outcome,
        },
        user_id=ctx.user_id,
    )
    return {"AsyncOperationId": job_id, "ImportJobKey": key}


def _unzip(content: bytes) -> dict[str, Element]:
    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
    except zipfile.BadZipFile:
        raise bad_request("CustomizationFile is not a zip file.", INVALID_ARGUMENT) from None
    with archive:
        names = set(archive.namelist())
        missing = [name for name in REQUIRED_FILES if name not in names]
        if missing:
            raise bad_request(f"The solution file lacks {', '.join(missing)}.", INVALID_ARGUMENT)
        if sum(info.file_size for info in archive.infolist()) > MAX_UNZIPPED_BYTES:
            raise bad_request("The solution file is too large once unpacked.", INVALID_ARGUMENT)
        return {name: customization_xml.parse(archive.read(name).decode("utf-8-sig"), name) for name in REQUIRED_FILES}


def _label(element: Element | None, default: str = "") -> str:
    if element is None:
        return default
    found = next(iter(element), None)
    return (found.get("description") if found is not None else None) or default


def _braces(text: str | None) -> str:
    return (text or "").strip().strip("{}").lower()


class SolutionImport:
    def __init__(self, records: Records, ctx: WriteContext, overwrite: bool):
        self.records = records
        self.ctx = ctx
        self.overwrite = overwrite
        self.store = records.store

    def run(self, files: dict[str, Element]) -> None:
        manifest = files["solution.xml"].find("SolutionManifest")
        if manifest is None:
            raise bad_request("solution.xml has no SolutionManifest.", INVALID_ARGUMENT)
        if (manifest.findtext("Managed") or "0").strip() != "0":
            raise bad_request("Only unmanaged solutions can be imported here.", INVALID_ARGUMENT)
        unique_name = self._solution(manifest)
        where = solutions.target(self.records, unique_name)
        customizations = files["customizations.xml"]
        entities = customizations.findall("Entities/Entity")
        for entity in entities:
            self._table(entity, where)
        for relationship in customizations.findall("EntityRelationships/EntityRelationship"):
            self._relationship(relationship, where)
        for entity in entities:
            self._views(entity)
        for entity in entities:
            self._forms(entity)
        for role in customizations.findall("Roles/Role"):
            self._role(role)
        for site_map in customizations.findall("AppModuleSiteMaps/AppModuleSiteMap"):
            self._site_map(site_map)
        for module in customizations.findall("AppModules/AppModule"):
            self._app(module)

    # ---- publisher and solution -------------------------------------------------------------------------

    def _solution(self, manifest: Element) -> str:
        publisher = manifest.find("Publisher")
        if publisher is None:
            raise bad_request("solution.xml names no Publisher.", INVALID_ARGUMENT)
        publisher_name = (publisher.findtext("UniqueName") or "").strip()
        prefix = (publisher.findtext("CustomizationPrefix") or "").strip()
        existing = [
            p
            for p in self.store.table_rows("publisher").values()
            if str(p["uniquename"]).lower() == publisher_name.lower()
        ]
        if existing and str(existing[0]["customizationprefix"]).lower() != prefix.lower():
            raise bad_request(
                f"The publisher '{publisher_name}' exists with prefix '{existing[0]['customizationprefix']}', "
                f"not '{prefix}'.",
                INVALID_ARGUMENT,
            )
        if existing:
            publisher_id = existing[0]["publisherid"]
        else:
            publisher_id = self._create(
                "publishers",
                {
                    "uniquename": publisher_name,
                    "friendlyname": _label(publisher.find("LocalizedNames"), publisher_name),
                    "customizationprefix": prefix,
                    "customizationoptionvalueprefix": int(publisher.findtext("CustomizationOptionValuePrefix") or 0),
                },
            )
        unique_name = (manifest.findtext("UniqueName") or "").strip()
        found = [
            s for s in self.store.table_rows("solution").values() if str(s["uniquename"]).lower() == unique_name.lower()
        ]
        if not found:
            self._create(
                "solutions",
                {
                    "uniquename": unique_name,
                    "friendlyname": _label(manifest.find("LocalizedNames"), unique_name),
                    "version": (manifest.findtext("Version") or "").strip(),
                    "publisherid@odata.bind": f"/publishers({publisher_id})",
                },
            )
        return unique_name

    def _create(self, entity_set: str, body: dict[str, Any]) -> str:
        table = self.store.schema.by_entity_set(entity_set)
        assert table is not None
        return str(self.records.create(table, body, self.ctx)[table.primary_id])

    # ---- tables, columns, relationships -----------------------------------------------------------------

    def _table(self, entity: Element, where: solutions.SolutionTarget) -> None:
        info = entity.find("EntityInfo/entity")
        if info is None:
            raise bad_request("An Entity has no EntityInfo.", INVALID_ARGUMENT)
        schema_name = info.get("Name") or ""
        logical = schema_name.lower()
        attributes = [self._attribute(a) for a in info.iterfind("attributes/attribute")]
        table = self.store.schema.tables.get(logical)
        if table is None:
            primary = [a for a in attributes if a.get("IsPrimaryName")]
            body = {
                "@odata.type": "Microsoft.Dynamics.CRM.EntityMetadata",
                "SchemaName": schema_name,
                "DisplayName": _label(info.find("LocalizedNames"), schema_name),
                "DisplayCollectionName": _label(info.find("LocalizedCollectionNames"), schema_name),
                "OwnershipType": (info.findtext("OwnershipTypeMask") or "UserOwned").strip(),
                "Attributes": primary,
            }
            table = metadata.create_entity(self.records, body, where)
        for attribute in attributes:
            if attribute["SchemaName"].lower() not in table.columns:
                metadata.create_attribute(self.records, table, attribute, where)

    def _attribute(self, element: Element) -> dict[str, Any]:
        kind = (element.findtext("Type") or "").strip()
        if kind not in METADATA_TYPES:
            raise bad_request(f"The attribute type '{kind}' is not supported.", INVALID_ARGUMENT)
        body: dict[str, Any] = {
            "@odata.type": f"Microsoft.Dynamics.CRM.{METADATA_TYPES[kind]}",
            "SchemaName": element.get("PhysicalName") or "",
            "DisplayName": _label(element.find("displaynames")),
            "Description": _label(element.find("Descriptions")),
            "IsPrimaryName": "PrimaryName" in (element.findtext("DisplayMask") or ""),
        }
        for key in ("MaxLength", "Precision"):
            if element.findtext(key):
                body[key] = int(element.findtext(key) or 0)
        if (element.findtext("Format") or "") == "date":
            body["Format"] = "DateOnly"
        if kind == "picklist":
            body["OptionSet"] = {
                "Options": [
                    {"Value": int(option.get("value") or 0), "Label": _label(option.find("labels"))}
                    for option in element.iterfind("optionset/options/option")
                ]
            }
        return body

    def _relationship(self, element: Element, where: solutions.SolutionTarget) -> None:
        name = element.get("Name") or ""
        if name in self.store.schema.relationships:
            return
        metadata.create_relationship(
            self.records,
            {
                "@odata.type": "Microsoft.Dynamics.CRM.OneToManyRelationshipMetadata",
                "SchemaName": name,
                "ReferencedEntity": (element.findtext("ReferencedEntityName") or "").strip(),
                "ReferencingEntity": (element.findtext("ReferencingEntityName") or "").strip(),
                "CascadeConfiguration": {"Delete": (element.findtext("CascadeDelete") or "RemoveLink").strip()},
                "Lookup": {
                    "SchemaName": (element.findtext("ReferencingAttributeName") or "").strip(),
                    "DisplayName": _label(element.find("displaynames")),
                    "Description": _label(element.find("Descriptions")),
                },
            },
            where,
        )

    # ---- forms, views, roles, app -----------------------------------------------------------------------

    def _upsert(self, entity_set: str, record_id: str, body: dict[str, Any], update: dict[str, Any]) -> None:
        table = self.store.schema.by_entity_set(entity_set)
        assert table is not None
        if self.store.get(table.logical_name, record_id) is None:
            self.records.create(table, {table.primary_id: record_id, **body}, self.ctx)
        elif self.overwrite:
            self.records.update(table, record_id, update, self.ctx)

    def _views(self, entity: Element) -> None:
        for query in entity.iterfind("SavedQueries/savedqueries/savedquery"):
            table = self.store.schema.tables.get((query.findtext("returnedtypecode") or "").strip())
            layout, fetch = query.find("layoutxml/grid"), query.find("fetchxml/fetch")
            if table is None or layout is None or fetch is None:
                raise bad_request("A savedquery needs a known returnedtypecode, layoutxml and fetchxml.")
            layout.set("object", str(table.object_type_code))  # this organisation's type code
            content = {
                "name": _label(query.find("LocalizedNames"), "View"),
                "description": _label(query.find("Descriptions")),
                "fetchxml": tostring(fetch, encoding="unicode"),
                "layoutxml": tostring(layout, encoding="unicode"),
            }
            self._upsert(
                "savedqueries",
                _braces(query.findtext("savedqueryid")),
                {**content, "returnedtypecode": table.logical_name, "querytype": int(query.findtext("querytype") or 0)},
                content,
            )

    def _forms(self, entity: Element) -> None:
        table_name = (entity.findtext("Name") or "").strip().lower()
        for system_form in entity.iterfind("FormXml/forms/systemform"):
            form = system_form.find("form")
            if form is None:
                raise bad_request("A systemform has no <form>.", INVALID_ARGUMENT)
            content = {
                "name": _label(system_form.find("LocalizedNames"), "Information"),
                "formxml": tostring(form, encoding="unicode"),
            }
            self._upsert(
                "systemforms",
                _braces(system_form.findtext("formid")),
                {**content, "objecttypecode": table_name, "type": 2},
                content,
            )

    def _role(self, element: Element) -> None:
        from sandbox.dataverse.seed import BUSINESS_UNIT_ID

        role_id = _braces(element.get("id"))
        self._upsert(
            "roles",
            role_id,
            {"name": element.get("name"), "businessunitid@odata.bind": f"/businessunits({BUSINESS_UNIT_ID})"},
            {"name": element.get("name")},
        )
        by_name = {str(p["name"]): p["privilegeid"] for p in self.store.table_rows("privilege").values()}
        wanted = []
        for privilege in element.iterfind("RolePrivileges/RolePrivilege"):
            name = privilege.get("name") or ""
            if name not in by_name:
                raise bad_request(f"The role '{element.get('name')}' names the unknown privilege {name}.")
            wanted.append({"PrivilegeId": by_name[name], "Depth": privilege.get("level"), "BusinessUnitId": None})
        if wanted:
            customization_actions.add_privileges_role(self.records, role_id, {"Privileges": wanted})

    def _site_map(self, element: Element) -> None:
        site_map = element.find("SiteMap")
        if site_map is None:
            raise bad_request("An AppModuleSiteMap has no SiteMap.", INVALID_ARGUMENT)
        unique = (element.findtext("SiteMapUniqueName") or "").strip()
        content = {"sitemapxml": tostring(site_map, encoding="unicode")}
        record_id = _braces(element.findtext("SiteMapId")) or str(uuid.uuid5(uuid.NAMESPACE_URL, unique))
        self._upsert(
            "sitemaps",
            record_id,
            {
                **content,
                "sitemapname": _label(element.find("LocalizedNames"), unique),
                "sitemapnameunique": unique,
                "isappaware": True,
            },
            content,
        )

    def _app(self, module: Element) -> None:
        unique = (module.findtext("UniqueName") or "").strip()
        app_id = _braces(module.findtext("AppModuleId")) or new_id()
        name = _label(module.find("LocalizedNames"), unique)
        self._upsert(
            "appmodules",
            app_id,
            {
                "name": name,
                "uniquename": unique,
                "description": _label(module.find("Descriptions")),
                "webresourceid": _braces(module.findtext("WebResourceId")) or DEFAULT_APP_ICON,
                "clienttype": int(module.findtext("ClientType") or 4),
            },
            {"name": name},
        )
        components = [self._component(c) for c in module.iterfind("AppModuleComponents/AppModuleComponent")]
        customization_actions.add_app_components(self.records, {"AppId": app_id, "Components": components})

    def _component(self, element: Element) -> dict[str, str]:
        kind, schema_name, record_id = element.get("type"), element.get("schemaName"), _braces(element.get("id"))
        crm = "Microsoft.Dynamics.CRM"
        if kind == "1":
            table = self.store.schema.tables.get(str(schema_name).lower())
            if table is None:
                raise bad_request(f"The app names the unknown table {schema_name}.", INVALID_ARGUMENT)
            return {"@odata.type": f"{crm}.entity", "entityid": table.metadata_id}
        if kind == "62":
            found = [s for s in self.store.table_rows("sitemap").values() if s.get("sitemapnameunique") == schema_name]
            if not found:
                raise bad_request(f"The app names the unknown site map {schema_name}.", INVALID_ARGUMENT)
            return {"@odata.type": f"{crm}.sitemap", "sitemapid": found[0]["sitemapid"]}
        if kind == "26":
            return {"@odata.type": f"{crm}.savedquery", "savedqueryid": record_id}
        if kind == "60":
            return {"@odata.type": f"{crm}.systemform", "formid": record_id}
        raise bad_request(f"App component type {kind} is not supported here.", INVALID_ARGUMENT)
