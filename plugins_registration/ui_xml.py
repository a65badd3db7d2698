"""The XML Dataverse keeps forms, views and site maps in, built from `app.dynamics_ui`.

Forms are merged, never replaced: `merge_form` adds to an existing main form only the tabs, sections, fields
and subgrids it lacks, wherever an admin has moved them since, and leaves everything else as it is.
"""

from __future__ import annotations

from xml.etree.ElementTree import Element, SubElement, tostring

from defusedxml import ElementTree

from app import dynamics_schema as schema
from app import dynamics_ui as ui
from app.dynamics_schema import Column

LANGUAGE = "1033"
# Control class ids of the form designer, by column kind (and URL text for links).
CONTROL_CLASS_IDS = {
    "String": "{4273EDBD-AC1D-40d3-9FB2-095C621B552D}",
    "Memo": "{E0DECE4B-6FC8-4a8f-A065-082708572369}",
    "Integer": "{C6D124CA-7EDA-4a60-AEA9-7FB8D318B68F}",
    "Decimal": "{C3EFE0C3-0EC6-42be-8349-CBD9079DFD8E}",
    "Money": "{533B9E00-756B-4312-95A0-DC888637AC78}",
    "Boolean": "{67FAC785-CD58-4f9f-ABB3-4B7DDC6ED5ED}",
    "DateTime": "{5B773807-9FB2-42db-97C3-7A91EFF8ADFF}",
    "Picklist": "{3EF39988-22BB-4f0b-BBBE-64B5A3748AEE}",
    "Lookup": "{270BD3DB-D9AF-4782-9025-509E298DEC0A}",
}
URL_CLASS_ID = "{71716B6C-711E-476c-8AB8-5D11542BFB47}"
SUBGRID_CLASS_ID = "{E7A81278-8635-4d9e-8D4D-59480B391C5B}"


def _braced(guid: str) -> str:
    return "{" + guid + "}"


def _labels(parent: Element, text: str) -> None:
    SubElement(SubElement(parent, "labels"), "label", description=text, languagecode=LANGUAGE)


def _column(table_name: str, name: str) -> Column:
    return schema.table(table_name)[name]


# ---- forms --------------------------------------------------------------------------------------------------


def field_cell(table_name: str, item: ui.Field) -> Element:
    col = _column(table_name, item.column)
    cell = Element("cell", id=_braced(ui.fixed_id("cell", f"{table_name}:{col.logical_name}")))
    _labels(cell, col.label)
    is_url = getattr(col, "is_url", False)
    class_id = URL_CLASS_ID if is_url else CONTROL_CLASS_IDS[col.kind]
    control = SubElement(cell, "control", id=col.logical_name, classid=class_id, datafieldname=col.logical_name)
    if item.lookup_view is not None:
        assert isinstance(col, schema.LookupColumn)
        view_id = _braced(ui.view(col.target, item.lookup_view).view_id)
        parameters = SubElement(control, "parameters")
        SubElement(parameters, "DefaultViewId").text = view_id
        SubElement(parameters, "AvailableViewIds").text = view_id
        SubElement(parameters, "DisableViewPicker").text = "true"
    return cell


def subgrid_cell(table_name: str, grid: ui.Subgrid) -> Element:
    cell = Element("cell", id=_braced(ui.fixed_id("cell", f"{table_name}:{grid.name}")), rowspan="6")
    _labels(cell, grid.label)
    control = SubElement(cell, "control", id=grid.name, classid=SUBGRID_CLASS_ID, indicationOfSubgrid="true")
    parameters = SubElement(control, "parameters")
    view_id = _braced(ui.view(grid.table, grid.view).view_id)
    for name, value in (
        ("TargetEntityType", grid.table),
        ("RelationshipName", ui.relationship_of(grid)),
        ("ViewId", view_id),
        ("ViewIds", view_id),
        ("EnableViewPicker", "false"),
        ("RecordsPerPage", str(grid.rows)),
        ("AutoExpand", "Fixed"),
        ("IsUserView", "false"),
    ):
        SubElement(parameters, name).text = value
    return cell


def item_row(table_name: str, item: ui.Field | ui.Subgrid) -> Element:
    row = Element("row")
    row.append(field_cell(table_name, item) if isinstance(item, ui.Field) else subgrid_cell(table_name, item))
    return row


def section_element(table_name: str, section: ui.Section) -> Element:
    element = Element(
        "section",
        name=section.name,
        id=_braced(ui.fixed_id("section", f"{table_name}:{section.name}")),
        showlabel="true",
        showbar="false",
        columns="1",
    )
    _labels(element, section.label)
    rows = SubElement(element, "rows")
    for item in section.items:
        rows.append(item_row(table_name, item))
    return element


def tab_element(table_name: str, tab: ui.Tab) -> Element:
    element = Element(
        "tab",
        name=tab.name,
        id=_braced(ui.fixed_id("tab", f"{table_name}:{tab.name}")),
        showlabel="true",
        expanded="true",
    )
    _labels(element, tab.label)
    sections = SubElement(SubElement(SubElement(element, "columns"), "column", width="100%"), "sections")
    for section in tab.sections:
        sections.append(section_element(table_name, section))
    return element


def new_form(definition: ui.FormDefinition) -> str:
    form = Element("form")
    tabs = SubElement(form, "tabs")
    for tab in definition.tabs:
        tabs.append(tab_element(definition.table, tab))
    return tostring(form, encoding="unicode")


def _item_key(item: ui.Field | ui.Subgrid) -> tuple[str, str]:
    return ("field", item.column) if isinstance(item, ui.Field) else ("control", item.name)


def _present(form: Element) -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    for control in form.iter("control"):
        if control.get("datafieldname"):
            found.add(("field", control.get("datafieldname") or ""))
        found.add(("control", control.get("id") or ""))
    return found


def merge_form(existing: str, definition: ui.FormDefinition) -> tuple[str | None, list[str]]:
    """The form with what `definition` adds and it lacks, and what was added; (None, []) when nothing is missing.

    A field already on the form anywhere (an admin may have moved it) is not added again; a section or tab
    already there (by name) receives only its missing items; nothing is removed, reordered or relabelled.
    """
    form = ElementTree.fromstring(existing)
    tabs = form.find("tabs")
    if tabs is None:
        tabs = SubElement(form, "tabs")
    present = _present(form)
    added: list[str] = []
    for tab in definition.tabs:
        tab_found = next((t for t in form.iter("tab") if t.get("name") == tab.name), None)
        for section in tab.sections:
            missing = [item for item in section.items if _item_key(item) not in present]
            if not missing:
                continue
            section_found = next((s for s in form.iter("section") if s.get("name") == section.name), None)
            if section_found is None:
                if tab_found is None:
                    tab_found = tab_element(definition.table, ui.Tab(tab.name, tab.label, ()))
                    tabs.append(tab_found)
                    added.append(f"tab '{tab.label}'")
                sections = tab_found.find("columns/column/sections")
                if sections is None:
                    sections = SubElement(SubElement(SubElement(tab_found, "columns"), "column"), "sections")
                section_found = section_element(definition.table, ui.Section(section.name, section.label, ()))
                sections.append(section_found)
                added.append(f"section '{section.label}'")
            rows = section_found.find("rows")
            if rows is None:
                rows = SubElement(section_found, "rows")
            for item in missing:
                rows.append(item_row(definition.table, item))
                present.add(_item_key(item))
                added.append(f"subgrid '{item.label}'" if isinstance(item, ui.Subgrid) else item.column)
    return (tostring(form, encoding="unicode"), added) if added else (None, [])


# ---- views --------------------------------------------------------------------------------------------------


def fetch_xml(view: ui.ViewDefinition) -> str:
    primary_id = schema.table(view.table).primary_id
    fetch = Element("fetch", version="1.0", mapping="logical", distinct="false")
    entity = SubElement(fetch, "entity", name=view.table)
    for name in (primary_id, *view.columns):
        SubElement(entity, "attribute", name=name)
    if view.order:
        SubElement(entity, "order", attribute=view.order, descending="true" if view.descending else "false")
    if view.conditions:
        where = SubElement(entity, "filter", type="and")
        for condition in view.conditions:
            element = SubElement(where, "condition", attribute=condition.column, operator=condition.operator)
            if condition.operator == "in":
                for value in condition.values:
                    SubElement(element, "value").text = str(value)
            elif condition.values:
                element.set("value", str(condition.values[0]))
    return tostring(fetch, encoding="unicode")


def layout_xml(view: ui.ViewDefinition, object_type_code: int) -> str:
    definition = schema.table(view.table)
    primary_name = definition.primary_name.logical_name if definition.primary_name else "name"
    grid = Element(
        "grid",
        name="resultset",
        object=str(object_type_code),
        jump=primary_name,
        select="1",
        icon="1",
        preview="1",
    )
    row = SubElement(grid, "row", name="result", id=definition.primary_id)
    for name in view.columns:
        SubElement(row, "cell", name=name, width="300" if name == view.columns[-1] else "150")
    return tostring(grid, encoding="unicode")


# ---- the app ------------------------------------------------------------------------------------------------


def site_map_xml(app: ui.AppDefinition) -> str:
    site_map = Element("SiteMap", IntroducedVersion="7.0.0.0")
    area = SubElement(site_map, "Area", Id="xc_xero", ShowGroups="true")
    titles = SubElement(area, "Titles")
    SubElement(titles, "Title", LCID=LANGUAGE, Title=app.name)
    for group in app.groups:
        group_element = SubElement(area, "Group", Id=group.name, IsProfile="false")
        SubElement(SubElement(group_element, "Titles"), "Title", LCID=LANGUAGE, Title=group.label)
        for sub in group.sub_areas:
            sub_element = SubElement(group_element, "SubArea", Id=sub.name, Entity=sub.table)
            SubElement(SubElement(sub_element, "Titles"), "Title", LCID=LANGUAGE, Title=sub.label)
    return tostring(site_map, encoding="unicode")
