"""`package`: the connector's customisations as an unmanaged solution file an admin can import.

The zip holds what a solution export holds: `[Content_Types].xml`, `solution.xml` (the manifest: unique name,
version, publisher with its prefix, root components) and `customizations.xml` (tables with their columns,
one-to-many relationships, main forms, views, security roles with their privileges, the app and its site
map). It is built from the same definitions as `provision` (`app/dynamics_schema.py`, `app/dynamics_ui.py`),
with the same fixed ids, so `provision` run after an import finds nothing missing.

A solution cannot merge fields into a form it does not own, so for invoice, invoice line, account and
contact it carries an additional main form "<table> (Xero)" that users can switch to, where `provision` adds
a tab to the existing form.
"""

from __future__ import annotations

import io
import zipfile
from xml.etree.ElementTree import Element, SubElement, tostring

from defusedxml import ElementTree

from app import dynamics_schema as schema
from app import dynamics_ui as ui
from app.dynamics_schema import LookupColumn
from plugins_registration import metadata, ui_xml
from plugins_registration.customize import DEFAULT_APP_ICON, UNIFIED_INTERFACE
from plugins_registration.solution import (
    OPTION_VALUE_PREFIX,
    PUBLISHER_UNIQUE_NAME,
    SOLUTION_UNIQUE_NAME,
    SOLUTION_VERSION,
)

LANGUAGE = "1033"
# Attribute types as customizations.xml spells them, by Web API metadata type.
XML_TYPES = {
    "StringAttributeMetadata": "nvarchar",
    "MemoAttributeMetadata": "ntext",
    "IntegerAttributeMetadata": "int",
    "DecimalAttributeMetadata": "decimal",
    "MoneyAttributeMetadata": "money",
    "BooleanAttributeMetadata": "bit",
    "DateTimeAttributeMetadata": "datetime",
    "PicklistAttributeMetadata": "picklist",
}
CONTENT_TYPES = (
    '<?xml version="1.0" encoding="utf-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="xml" ContentType="application/octet-stream" /></Types>'
)


def _labels(parent: Element, outer: str, inner: str, text: str) -> None:
    if text:
        SubElement(SubElement(parent, outer), inner, description=text, languagecode=LANGUAGE)


def _text(parent: Element, tag: str, value: object) -> Element:
    element = SubElement(parent, tag)
    element.text = str(value)
    return element


def _braced(guid: str) -> str:
    return "{" + guid + "}"


def attribute_element(col: schema.Column) -> Element:
    body = metadata.attribute_metadata(col)
    odata = str(body["@odata.type"]).rsplit(".", 1)[-1]
    element = Element("attribute", PhysicalName=col.schema_name)
    _text(element, "Type", XML_TYPES[odata])
    _text(element, "Name", col.logical_name)
    _text(element, "LogicalName", col.logical_name)
    _text(element, "RequiredLevel", "none")
    for key in ("MaxLength", "Precision", "MinValue", "MaxValue"):
        if key in body:
            _text(element, key, body[key])
    if isinstance(body.get("FormatName"), dict):
        _text(element, "Format", str(body["FormatName"]["Value"]).lower())
    elif body.get("Format") in ("DateOnly", "DateAndTime"):
        _text(element, "Format", "date" if body["Format"] == "DateOnly" else "datetime")
    if "DefaultValue" in body:
        _text(element, "DefaultValue", int(bool(body["DefaultValue"])))
    if "DefaultFormValue" in body:
        _text(element, "AppDefaultValue", body["DefaultFormValue"])
    if odata == "PicklistAttributeMetadata":
        options = SubElement(SubElement(element, "optionset", Name=col.logical_name), "options")
        for value, text in col.options.items():  # type: ignore[attr-defined]
            option = SubElement(options, "option", value=str(value))
            _labels(option, "labels", "label", text)
    _labels(element, "displaynames", "displayname", col.label)
    _labels(element, "Descriptions", "Description", col.description)
    return element


def entity_element(definition: schema.Table) -> Element:
    entity = Element("Entity")
    name = SubElement(entity, "Name", LocalizedName=definition.label or definition.logical_name)
    name.text = definition.schema_name if definition.custom else definition.logical_name
    info = SubElement(SubElement(entity, "EntityInfo"), "entity", Name=name.text)
    if definition.custom:
        _labels(info, "LocalizedNames", "LocalizedName", definition.label)
        _labels(info, "LocalizedCollectionNames", "LocalizedCollectionName", definition.plural_label)
        _labels(info, "Descriptions", "Description", definition.description)
        _text(info, "EntitySetName", definition.entity_set)
        _text(info, "OwnershipTypeMask", "UserOwned")
    attributes = SubElement(info, "attributes")
    if definition.primary_name is not None:
        primary = attribute_element(definition.primary_name)
        _text(primary, "DisplayMask", "PrimaryName|ValidForAdvancedFind|ValidForForm|ValidForGrid|RequiredForForm")
        attributes.append(primary)
    for col in definition.plain_columns():
        attributes.append(attribute_element(col))
    _forms(entity, definition)
    _views(entity, definition)
    return entity


def _forms(entity: Element, definition: schema.Table) -> None:
    try:
        form = ui.form(definition.logical_name)
    except KeyError:
        return
    system_form = SubElement(SubElement(SubElement(entity, "FormXml"), "forms", type="main"), "systemform")
    _text(system_form, "formid", _braced(form.form_id))
    _text(system_form, "IntroducedVersion", SOLUTION_VERSION)
    _text(system_form, "FormPresentation", 1)
    _text(system_form, "FormActivationState", 1)
    system_form.append(ElementTree.fromstring(ui_xml.new_form(form)))
    _labels(system_form, "LocalizedNames", "LocalizedName", form.name if definition.custom else f"{form.name} (Xero)")


def _views(entity: Element, definition: schema.Table) -> None:
    views = [v for v in ui.VIEWS if v.table == definition.logical_name]
    if not views:
        return
    holder = SubElement(SubElement(entity, "SavedQueries"), "savedqueries")
    for view in views:
        query = SubElement(holder, "savedquery")
        _text(query, "IsCustomizable", 1)
        _text(query, "savedqueryid", _braced(view.view_id))
        _text(query, "querytype", view.query_type)
        _text(query, "IsDefault", 0)
        _text(query, "returnedtypecode", view.table)
        # The type code differs between organisations: the import puts the target's own in `object`.
        SubElement(query, "layoutxml").append(ElementTree.fromstring(ui_xml.layout_xml(view, 0)))
        SubElement(query, "fetchxml").append(ElementTree.fromstring(ui_xml.fetch_xml(view)))
        _labels(query, "LocalizedNames", "LocalizedName", view.name)
        _labels(query, "Descriptions", "Description", view.description)


def relationships_element() -> Element:
    holder = Element("EntityRelationships")
    for definition in schema.ALL_TABLES:
        for lookup in definition.lookups():
            holder.append(_relationship(definition, lookup))
    return holder


def _relationship(definition: schema.Table, lookup: LookupColumn) -> Element:
    name = lookup.relationship_name(definition.logical_name)
    element = Element("EntityRelationship", Name=name)
    _text(element, "EntityRelationshipType", "OneToMany")
    _text(element, "ReferencingEntityName", definition.logical_name)
    _text(element, "ReferencedEntityName", lookup.target)
    _text(element, "ReferencingAttributeName", lookup.schema_name)
    _text(element, "CascadeDelete", "RemoveLink")
    _labels(element, "displaynames", "displayname", lookup.label)
    _labels(element, "Descriptions", "Description", lookup.description)
    return element


def roles_element() -> Element:
    holder = Element("Roles")
    for role in ui.ROLES:
        element = SubElement(holder, "Role", id=_braced(role.role_id), name=role.name)
        privileges = SubElement(element, "RolePrivileges")
        for name, depth in sorted(role.privileges().items()):
            SubElement(privileges, "RolePrivilege", name=name, level=depth.name)
    return holder


def app_elements() -> list[Element]:
    app = ui.APP
    site_maps = Element("AppModuleSiteMaps")
    site_map = SubElement(site_maps, "AppModuleSiteMap")
    _text(site_map, "SiteMapUniqueName", app.unique_name)
    _text(site_map, "SiteMapId", _braced(app.site_map_id))
    site_map.append(ElementTree.fromstring(ui_xml.site_map_xml(app)))
    _labels(site_map, "LocalizedNames", "LocalizedName", app.name)

    modules = Element("AppModules")
    module = SubElement(modules, "AppModule")
    _text(module, "UniqueName", app.unique_name)
    _text(module, "AppModuleId", _braced(app.app_id))
    _text(module, "WebResourceId", _braced(DEFAULT_APP_ICON))
    _text(module, "ClientType", UNIFIED_INTERFACE)
    components = SubElement(module, "AppModuleComponents")
    SubElement(components, "AppModuleComponent", type="62", schemaName=app.unique_name)
    for table_name in app.tables():
        SubElement(components, "AppModuleComponent", type="1", schemaName=table_name)
        if any(form.table == table_name for form in ui.FORMS):
            SubElement(components, "AppModuleComponent", type="60", id=_braced(ui.form(table_name).form_id))
    for view in ui.VIEWS:
        if view.table in app.tables():
            SubElement(components, "AppModuleComponent", type="26", id=_braced(view.view_id))
    _labels(module, "LocalizedNames", "LocalizedName", app.name)
    _labels(module, "Descriptions", "Description", app.description)
    return [site_maps, modules]


def customizations_xml() -> str:
    root = Element("ImportExportXml", OrganizationVersion="9.2", OrganizationSchemaType="Standard")
    entities = SubElement(root, "Entities")
    for definition in schema.ALL_TABLES:
        entities.append(entity_element(definition))
    root.append(roles_element())
    root.append(relationships_element())
    for element in app_elements():
        root.append(element)
    SubElement(SubElement(root, "Languages"), "Language").text = LANGUAGE
    return '<?xml version="1.0" encoding="utf-8"?>' + tostring(root, encoding="unicode")


def solution_xml() -> str:
    root = Element("ImportExportXml", version="9.2", SolutionPackageVersion="9.2", languagecode=LANGUAGE)
    manifest = SubElement(root, "SolutionManifest")
    _text(manifest, "UniqueName", SOLUTION_UNIQUE_NAME)
    _labels(manifest, "LocalizedNames", "LocalizedName", "Xero connector")
    _text(manifest, "Version", SOLUTION_VERSION)
    _text(manifest, "Managed", 0)
    publisher = SubElement(manifest, "Publisher")
    _text(publisher, "UniqueName", PUBLISHER_UNIQUE_NAME)
    _labels(publisher, "LocalizedNames", "LocalizedName", "Xero connector")
    _text(publisher, "CustomizationPrefix", schema.PUBLISHER_PREFIX)
    _text(publisher, "CustomizationOptionValuePrefix", OPTION_VALUE_PREFIX)
    roots = SubElement(manifest, "RootComponents")
    for definition in schema.ALL_TABLES:
        name = definition.schema_name if definition.custom else definition.logical_name
        SubElement(roots, "RootComponent", type="1", schemaName=name, behavior="0" if definition.custom else "2")
    for role in ui.ROLES:
        SubElement(roots, "RootComponent", type="20", id=_braced(role.role_id), behavior="0")
    SubElement(roots, "RootComponent", type="62", schemaName=ui.APP.unique_name, behavior="0")
    SubElement(roots, "RootComponent", type="80", schemaName=ui.APP.unique_name, behavior="0")
    return '<?xml version="1.0" encoding="utf-8"?>' + tostring(root, encoding="unicode")


def solution_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", CONTENT_TYPES)
        archive.writestr("solution.xml", solution_xml())
        archive.writestr("customizations.xml", customizations_xml())
    return buffer.getvalue()
