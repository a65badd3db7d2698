"""A read-only page of one record, rendered through its table's published main form: what a user would see.

`GET /_sandbox/records/<table>/<id>` lays the record out tab by tab and section by section as the form says:
labels from the form (or the column), help text from the column's description, values as Dataverse formats
them, URL fields as links, lookups as links to the related record's page, and subgrids as tables of the
related rows in the columns and order of the subgrid's view. Only what was published shows, as in Dynamics.
`GET /_sandbox/views/<savedqueryid>` lists a view's rows the same way, and `GET /_sandbox/apps/<appmoduleid>` a
published app's site map with links to its views. Loopback only, like the rest of /_sandbox.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from xml.etree.ElementTree import Element

from flask import Blueprint, Response, render_template

from sandbox.dataverse import customization_xml as xml
from sandbox.dataverse.customizations import app_ref, main_form
from sandbox.dataverse.errors import DataverseError, not_found
from sandbox.dataverse.schema import Column, Table
from sandbox.dataverse.store import Row
from sandbox.dataverse.values import Ref, formatted, is_guid, normalise_guid
from sandbox.dataverse.web import current_sandbox

pages = Blueprint("sandbox_pages", __name__, url_prefix="/_sandbox", template_folder="templates")
URL_CLASS_ID = "{71716b6c-711e-476c-8ab8-5d11542bfb47}"
VIEW_COMPONENT, SITEMAP_COMPONENT = 26, 62


@dataclass
class Value:
    text: str
    link: str | None = None
    external: bool = False


@dataclass
class Grid:
    name: str
    label: str
    headers: list[str]
    rows: list[tuple[str, list[Value]]]


@dataclass
class FieldShown:
    column: str
    label: str
    help: str
    value: Value


@dataclass
class SectionShown:
    name: str
    label: str
    show_label: bool
    items: list[FieldShown | Grid] = field(default_factory=list)


@dataclass
class TabShown:
    name: str
    label: str
    sections: list[SectionShown] = field(default_factory=list)


def _label(element: Element, default: str) -> str:
    found = element.find("labels/label")
    return found.get("description") or default if found is not None else default


def _visible(element: Element) -> bool:
    return element.get("visible", "true").lower() != "false"


class Renderer:
    def __init__(self) -> None:
        self.sandbox = current_sandbox()
        self.store = self.sandbox.store
        self.reader = self.sandbox.reader

    def value(self, table: Table, col: Column, row: Row, as_link: bool = False) -> Value:
        raw = row.get(col.logical_name)
        if raw is None:
            return Value("---")
        if isinstance(raw, Ref):
            name = self.reader.name_of(raw) or raw.id
            return Value(name, f"/_sandbox/records/{raw.table}/{raw.id}")
        text = formatted(col, raw, self.reader.currency_symbol(row), self.reader.name_of)
        text = str(raw) if text is None else text
        if as_link and text.startswith(("https://", "http://")):
            return Value(text, text, external=True)
        return Value(text)

    def tabs(self, table: Table, row: Row, formxml: str) -> list[TabShown]:
        shown = []
        for tab in xml.parse(formxml, "formxml").iter("tab"):
            if not _visible(tab):
                continue
            tab_shown = TabShown(tab.get("name") or "", _label(tab, ""))
            for section in tab.iter("section"):
                if not _visible(section):
                    continue
                section_shown = SectionShown(
                    section.get("name") or "", _label(section, ""), section.get("showlabel", "true") == "true"
                )
                for cell in section.iter("cell"):
                    control = cell.find("control")
                    if control is None or not _visible(cell) or not _visible(control):
                        continue
                    if (control.get("classid") or "").lower() == xml.SUBGRID_CLASS_ID:
                        section_shown.items.append(self.subgrid(table, row, cell, control))
                    elif control.get("datafieldname") in table.columns:
                        col = table.columns[control.get("datafieldname") or ""]
                        is_url = (control.get("classid") or "").lower() == URL_CLASS_ID
                        section_shown.items.append(
                            FieldShown(
                                col.logical_name,
                                _label(cell, col.display_name),
                                col.description,
                                self.value(table, col, row, as_link=is_url),
                            )
                        )
                tab_shown.sections.append(section_shown)
            shown.append(tab_shown)
        return shown

    def subgrid(self, table: Table, row: Row, cell: Element, control: Element) -> Grid:
        params = {child.tag: (child.text or "").strip() for child in control.iterfind("parameters/*")}
        target = self.store.schema.tables[params["TargetEntityType"]]
        relationship = self.store.schema.relationships[params["RelationshipName"]]
        view = self.store.get("savedquery", params["ViewId"].strip("{}").lower())
        assert view is not None  # the form was checked when it was saved
        mine = [
            r
            for r in self.store.table_rows(target.logical_name).values()
            if r.get(relationship.referencing_attribute) == Ref(table.logical_name, row[table.primary_id])
        ]
        headers, rows = self.view_rows(target, view, mine)
        return Grid(control.get("id") or "", _label(cell, target.display_collection_name), headers, rows)

    def view_rows(self, table: Table, view: Row, rows: list[Row]) -> tuple[list[str], list[tuple[str, list[Value]]]]:
        entity = xml.parse(view["fetchxml"], "fetchxml").find("entity")
        assert entity is not None
        chosen = [r for r in rows if all(matches(c, r) for c in entity.iter("condition"))]
        for order in reversed(entity.findall("order")):
            name = order.get("attribute") or ""
            present = [r for r in chosen if r.get(name) is not None]
            present.sort(key=lambda r: r[name], reverse=order.get("descending") == "true")
            chosen = present + [r for r in chosen if r.get(name) is None]
        cells = [c.get("name") or "" for c in xml.parse(view["layoutxml"], "layoutxml").iter("cell")]
        columns = [table.columns[name] for name in cells]
        return (
            [col.display_name for col in columns],
            [(str(r[table.primary_id]), [self.value(table, col, r) for col in columns]) for r in chosen],
        )


def matches(condition: Element, row: Row) -> bool:
    """The FetchXML condition operators the connector's views use; any other keeps the row."""
    value = row.get(condition.get("attribute") or "")
    operator = condition.get("operator")
    wanted = [condition.get("value")] if condition.get("value") is not None else []
    wanted += [v.text or "" for v in condition.findall("value")]
    comparable = value.id if isinstance(value, Ref) else value

    def same(text: str) -> bool:
        if isinstance(comparable, bool):
            return comparable == (text.lower() in ("1", "true"))
        return str(comparable) == text

    if operator == "eq":
        return value is not None and same(wanted[0])
    if operator == "ne":
        return value is None or not same(wanted[0])
    if operator == "in":
        return value is not None and any(same(w) for w in wanted)
    if operator == "not-in":
        return value is None or not any(same(w) for w in wanted)
    if operator == "null":
        return value is None
    if operator == "not-null":
        return value is not None
    if operator in ("today", "this-week") and isinstance(value, datetime):
        now = datetime.now(UTC)
        start = now.replace(hour=0, minute=0, second=0, microsecond=0)
        if operator == "this-week":
            start -= timedelta(days=start.weekday())
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        return moment >= start
    return True


def _guid(value: str, what: str) -> str:
    if not is_guid(value):
        raise DataverseError(400, "0x80060888", f"'{value}' is not the id of a {what}.")
    return normalise_guid(value)


@pages.get("/records/<table_name>/<record_id>")
def record_page(table_name: str, record_id: str) -> Response:
    renderer = Renderer()
    store = renderer.store
    with store.lock:
        table = store.schema.tables.get(table_name)
        if table is None:
            raise DataverseError(404, "0x80040217", f"There is no table named '{table_name}'.")
        row = store.get(table_name, _guid(record_id, table_name))
        if row is None:
            raise not_found(table_name, record_id)
        found = main_form(renderer.sandbox.records, table_name)
        if found is None:
            raise DataverseError(404, "0x80040217", f"{table_name} has no published main form.")
        form, formxml = found
        title = str(row.get(table.primary_name) or row[table.primary_id])
        html = render_template(
            "record_page.html",
            title=title,
            subtitle=f"{table.display_name} · {form['name']} form",
            table_label=table.display_collection_name,
            tabs=renderer.tabs(table, row, formxml),
            grid=None,
        )
    return Response(html, mimetype="text/html")


@pages.get("/views/<view_id>")
def view_page(view_id: str) -> Response:
    renderer = Renderer()
    store = renderer.store
    with store.lock:
        view = store.get("savedquery", _guid(view_id, "view"))
        if view is None:
            raise not_found("savedquery", view_id)
        table = store.schema.tables[view["returnedtypecode"]]
        headers, rows = renderer.view_rows(table, view, list(store.table_rows(table.logical_name).values()))
        for row_id, cells in rows:
            cells[0].link = cells[0].link or f"/_sandbox/records/{table.logical_name}/{row_id}"
        html = render_template(
            "record_page.html",
            title=view["name"],
            subtitle=f"{table.display_collection_name} · view",
            table_label=table.display_collection_name,
            tabs=[],
            grid=Grid("view", view["name"], headers, rows),
        )
    return Response(html, mimetype="text/html")


@pages.get("/apps/<app_id>")
def app_page(app_id: str) -> Response:
    """A published app's navigation: its site map's groups and entries, each with the app's views of that table."""
    renderer = Renderer()
    store = renderer.store
    with store.lock:
        app = store.get("appmodule", _guid(app_id, "app"))
        if app is None or not app.get("publishedon"):
            raise DataverseError(404, "0x80040217", f"No published app has the id {app_id}.")
        owner = app_ref(app)
        components = [c for c in store.table_rows("appmodulecomponent").values() if c["appmoduleidunique"] == owner]
        views = [store.get("savedquery", c["objectid"]) for c in components if c["componenttype"] == VIEW_COMPONENT]
        site_maps = [store.get("sitemap", c["objectid"]) for c in components if c["componenttype"] == SITEMAP_COMPONENT]
        tabs = []
        for site_map in filter(None, site_maps):
            for group in xml.parse(site_map["sitemapxml"], "sitemapxml").iter("Group"):
                section = SectionShown(group.get("Id") or "", _title(group), False)
                for sub_area in group.iter("SubArea"):
                    table = sub_area.get("Entity") or ""
                    # Only public views are offered in the view picker (associated views back subgrids).
                    mine = sorted(
                        (v for v in views if v and v["returnedtypecode"] == table and v["querytype"] == 0),
                        key=lambda v: v["name"],
                    )
                    for index, view in enumerate(mine):
                        link = Value(view["name"], f"/_sandbox/views/{view['savedqueryid']}")
                        section.items.append(FieldShown(table, _title(sub_area) if index == 0 else "", "", link))
                tabs.append(TabShown(group.get("Id") or "", _title(group), [section]))
        html = render_template(
            "record_page.html",
            title=app["name"],
            subtitle="Model-driven app · site map",
            table_label=app["name"],
            tabs=tabs,
            grid=None,
        )
    return Response(html, mimetype="text/html")


def _title(element: Element) -> str:
    found = element.find("Titles/Title")
    return (found.get("Title") if found is not None else None) or element.get("Id") or ""
