"""app/dynamics_ui.py names only what exists: checked offline, before any organisation sees it."""

from __future__ import annotations

import pytest
from defusedxml import ElementTree

from app import dynamics_schema as schema
from app import dynamics_ui as ui
from plugins_registration import ui_xml
from sandbox.dataverse.schema import build_system_schema

STANDARD = build_system_schema()  # the standard tables' own columns, as the sandbox knows them


def columns_of(table_name: str) -> set[str]:
    ours = {col.logical_name for col in schema.table(table_name).all_columns()}
    standard = set(STANDARD.tables[table_name].columns) if table_name in STANDARD.tables else set()
    custom_standard = {schema.table(table_name).primary_id, "createdon", "modifiedon", "statecode", "ownerid"}
    return ours | standard | custom_standard


@pytest.mark.parametrize("definition", ui.FORMS, ids=lambda d: d.table)
def test_every_form_item_is_a_column_or_a_subgrid_of_a_real_relationship(definition: ui.FormDefinition) -> None:
    form = ElementTree.fromstring(ui_xml.new_form(definition))
    fields = [c.get("datafieldname") for c in form.iter("control") if c.get("datafieldname")]
    assert set(fields) <= columns_of(definition.table)
    assert len(fields) == len(set(fields)), "a column appears once per form"
    for tab in definition.tabs:
        for section in tab.sections:
            for item in section.items:
                if isinstance(item, ui.Subgrid):
                    assert ui.view(item.table, item.view).table == item.table
                    assert schema.lookup(item.table, item.lookup).target == definition.table
                elif item.lookup_view:
                    target = schema.lookup(definition.table, item.column).target
                    assert ui.view(target, item.lookup_view).table == target


@pytest.mark.parametrize("view", ui.VIEWS, ids=lambda v: f"{v.table}:{v.name}")
def test_every_view_shows_and_filters_on_existing_columns(view: ui.ViewDefinition) -> None:
    known = columns_of(view.table)
    assert set(view.columns) <= known
    assert {c.column for c in view.conditions} <= known
    assert view.order is None or view.order in known
    fetch = ElementTree.fromstring(ui_xml.fetch_xml(view))
    for condition in fetch.iter("condition"):
        col = next(
            (c for c in schema.table(view.table).all_columns() if c.logical_name == condition.get("attribute")), None
        )
        if isinstance(col, schema.ChoiceColumn):
            values = [condition.get("value")] + [v.text for v in condition.iter("value")]
            assert {int(v) for v in values if v} <= set(col.options)


def test_views_have_unique_names_per_table_and_the_app_and_roles_name_our_tables() -> None:
    assert len({(v.table, v.name) for v in ui.VIEWS}) == len(ui.VIEWS)
    assert len({v.view_id for v in ui.VIEWS}) == len(ui.VIEWS)
    tables = {t.logical_name for t in schema.ALL_TABLES}
    assert set(ui.APP.tables()) <= tables
    for role in ui.ROLES:
        assert {grant.table for grant in role.grants} <= tables
    assert ui.ADMIN_ROLE.privileges().items() >= ui.USER_ROLE.privileges().items()
    site_map = ElementTree.fromstring(ui_xml.site_map_xml(ui.APP))
    assert [s.get("Entity") for s in site_map.iter("SubArea")] == [
        sub.table for group in ui.APP.groups for sub in group.sub_areas
    ]


def test_the_connection_form_shows_every_setting() -> None:
    form = ElementTree.fromstring(ui_xml.new_form(ui.form(schema.CONNECTION_ENTITY)))
    shown = {c.get("datafieldname") for c in form.iter("control")}
    # The encrypted copy of the Xero token set is the connector's own, not a setting: never on the form.
    settings = {col.logical_name for col in schema.CONNECTION_TABLE.all_columns()} - {
        schema.CONNECTION_XERO_TOKEN_BACKUP
    }
    assert settings - shown == set()
    assert schema.CONNECTION_XERO_TOKEN_BACKUP not in shown
