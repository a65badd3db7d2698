"""Strict checks of the XML inside forms, views and site maps, against the live schema.

Dataverse refuses a form whose field names no column, a subgrid whose relationship or view does not exist,
a view whose FetchXML or layout names an unknown column, and a site map entry for a table it does not have.
The sandbox does the same, and says exactly what is wrong (Dataverse's own wording is often vaguer).
"""

from __future__ import annotations

from xml.etree.ElementTree import Element

from defusedxml import ElementTree
from defusedxml.common import DefusedXmlException

from sandbox.dataverse.errors import INVALID_ARGUMENT, DataverseError, bad_request
from sandbox.dataverse.schema import OPTION_KINDS, Schema, Table
from sandbox.dataverse.store import Store

SUBGRID_CLASS_ID = "{e7a81278-8635-4d9e-8d4d-59480b391c5b}"
FETCH_OPERATORS = frozenset(
    {
        "eq",
        "ne",
        "gt",
        "ge",
        "lt",
        "le",
        "in",
        "not-in",
        "null",
        "not-null",
        "like",
        "not-like",
        "today",
        "yesterday",
        "this-week",
        "last-week",
        "this-month",
        "last-x-days",
        "eq-userid",
    }
)
VALUELESS_OPERATORS = frozenset({"null", "not-null", "today", "yesterday", "this-week", "last-week", "this-month"})
DATE_OPERATORS = frozenset({"today", "yesterday", "this-week", "last-week", "this-month", "last-x-days"})


def parse(text: object, what: str) -> Element:
    if not isinstance(text, str) or not text.strip():
        raise bad_request(f"The {what} is empty.", INVALID_ARGUMENT)
    try:
        return ElementTree.fromstring(text)
    except (ElementTree.ParseError, DefusedXmlException) as exc:
        raise bad_request(f"The {what} is not well-formed XML: {exc}.", INVALID_ARGUMENT) from None


def _table(schema: Schema, logical_name: object, what: str) -> Table:
    table = schema.tables.get(str(logical_name or ""))
    if table is None:
        raise bad_request(f"The {what} names the table '{logical_name}', which does not exist.", INVALID_ARGUMENT)
    return table


def _column(table: Table, name: str | None, what: str) -> None:
    if not name or name not in table.columns:
        raise bad_request(
            f"The {what} names the column '{name}', which {table.logical_name} does not have.", INVALID_ARGUMENT
        )


# ---- forms --------------------------------------------------------------------------------------------------


def check_formxml(store: Store, table_name: object, formxml: object) -> None:
    schema = store.schema
    table = _table(schema, table_name, "form")
    root = parse(formxml, "formxml")
    if root.tag != "form":
        raise bad_request("The formxml must have <form> as its root element.", INVALID_ARGUMENT)
    names: set[tuple[str, str]] = set()
    for element in root.iter():
        if element.tag in ("tab", "section"):
            name = element.get("name") or ""
            if (element.tag, name) in names:
                raise bad_request(f"The form has two {element.tag}s named '{name}'.", INVALID_ARGUMENT)
            names.add((element.tag, name))
    for control in root.iter("control"):
        if (control.get("classid") or "").lower() == SUBGRID_CLASS_ID:
            _check_subgrid(store, table, control)
        elif control.get("datafieldname") is not None:
            _column(table, control.get("datafieldname"), "form")
            _check_lookup_views(store, table, control)


def _parameter(control: Element, name: str) -> str:
    found = control.find(f"parameters/{name}")
    return (found.text or "").strip() if found is not None else ""


def _check_subgrid(store: Store, table: Table, control: Element) -> None:
    schema = store.schema
    label = control.get("id") or "?"
    target = _table(schema, _parameter(control, "TargetEntityType"), f"subgrid '{label}'")
    relationship_name = _parameter(control, "RelationshipName")
    rel = schema.relationships.get(relationship_name)
    if rel is None or rel.referenced_entity != table.logical_name or rel.referencing_entity != target.logical_name:
        raise bad_request(
            f"The subgrid '{label}' names the relationship '{relationship_name}', which does not relate "
            f"{table.logical_name} to {target.logical_name}.",
            INVALID_ARGUMENT,
        )
    _check_view_of(store, _parameter(control, "ViewId"), target.logical_name, f"subgrid '{label}'")


def _check_lookup_views(store: Store, table: Table, control: Element) -> None:
    col = table.columns[control.get("datafieldname") or ""]
    for view_id in filter(None, (_parameter(control, "DefaultViewId"),)):
        if not col.is_lookup:
            raise bad_request(f"The field '{col.logical_name}' is not a lookup: it has no views.", INVALID_ARGUMENT)
        targets = col.targets or ()
        _check_view_of(store, view_id, targets[0] if targets else "", f"lookup '{col.logical_name}'")


def _check_view_of(store: Store, view_id: str, table_name: str, what: str) -> None:
    view = store.get("savedquery", view_id.strip("{}").lower()) if view_id else None
    if view is None or view.get("returnedtypecode") != table_name:
        raise bad_request(
            f"The {what} names the view '{view_id}', which is not a view of {table_name}.", INVALID_ARGUMENT
        )


# ---- views --------------------------------------------------------------------------------------------------


def check_view(schema: Schema, table_name: object, fetchxml: object, layoutxml: object) -> None:
    table = _table(schema, table_name, "view")
    fetch = parse(fetchxml, "fetchxml")
    entity = fetch.find("entity")
    if fetch.tag != "fetch" or entity is None:
        raise bad_request("The fetchxml must be <fetch> with one <entity>.", INVALID_ARGUMENT)
    if entity.get("name") != table.logical_name:
        raise bad_request(
            f"The fetchxml queries '{entity.get('name')}' but the view is of {table.logical_name}.", INVALID_ARGUMENT
        )
    for element in entity.iter():
        if element.tag in ("attribute", "order"):
            _column(table, element.get("name") or element.get("attribute"), "fetchxml")
        elif element.tag == "condition":
            _check_condition(table, element)
        elif element.tag == "link-entity":
            raise bad_request("Linked entities in a view are not supported by the sandbox.", INVALID_ARGUMENT)
    grid = parse(layoutxml, "layoutxml")
    row = grid.find("row")
    if grid.tag != "grid" or row is None:
        raise bad_request("The layoutxml must be <grid> with one <row>.", INVALID_ARGUMENT)
    if grid.get("object") != str(table.object_type_code):
        raise bad_request(
            f"The layoutxml object {grid.get('object')} is not the type code of {table.logical_name} "
            f"({table.object_type_code}).",
            INVALID_ARGUMENT,
        )
    if row.get("id") != table.primary_id:
        raise bad_request(f"The layoutxml row id must be {table.primary_id}.", INVALID_ARGUMENT)
    fetched = {a.get("name") for a in entity.iter("attribute")}
    for cell in row.iter("cell"):
        _column(table, cell.get("name"), "layoutxml")
        if cell.get("name") not in fetched:
            raise bad_request(
                f"The layoutxml shows '{cell.get('name')}', which the fetchxml does not fetch.", INVALID_ARGUMENT
            )


def _check_condition(table: Table, condition: Element) -> None:
    name, operator = condition.get("attribute"), condition.get("operator") or ""
    _column(table, name, "fetchxml")
    if operator not in FETCH_OPERATORS:
        raise bad_request(f"The fetchxml operator '{operator}' is not valid.", INVALID_ARGUMENT)
    col = table.columns[name or ""]
    if operator in DATE_OPERATORS and col.kind.value not in ("DateTime", "DateOnly"):
        raise bad_request(f"The operator '{operator}' needs a date column; {name} is not one.", INVALID_ARGUMENT)
    values = [condition.get("value")] if condition.get("value") is not None else []
    values += [v.text or "" for v in condition.findall("value")]
    if operator in VALUELESS_OPERATORS:
        if values:
            raise bad_request(f"The operator '{operator}' takes no value.", INVALID_ARGUMENT)
        return
    if not values:
        raise bad_request(f"The condition on {name} ({operator}) needs a value.", INVALID_ARGUMENT)
    if col.kind in OPTION_KINDS:
        for value in values:
            if not value.lstrip("-").isdigit() or int(value) not in col.options:
                raise bad_request(f"{value} is not an option of {table.logical_name}.{name}.", INVALID_ARGUMENT)


# ---- site maps ----------------------------------------------------------------------------------------------


def check_sitemap(schema: Schema, sitemapxml: object) -> list[str]:
    """The tables the site map shows (each must exist)."""
    root = parse(sitemapxml, "sitemapxml")
    if root.tag != "SiteMap":
        raise bad_request("The sitemapxml must have <SiteMap> as its root element.", INVALID_ARGUMENT)
    tables = []
    for sub_area in root.iter("SubArea"):
        entity = sub_area.get("Entity")
        if entity is None and not sub_area.get("Url"):
            raise bad_request(
                f"The site map entry '{sub_area.get('Id')}' has neither Entity nor Url.", INVALID_ARGUMENT
            )
        if entity is not None:
            tables.append(_table(schema, entity, f"site map entry '{sub_area.get('Id')}'").logical_name)
    if not tables:
        raise bad_request("The site map shows nothing.", INVALID_ARGUMENT)
    return tables


def not_customizable(what: str) -> DataverseError:
    return bad_request(f"The {what} is not valid here.", INVALID_ARGUMENT)
