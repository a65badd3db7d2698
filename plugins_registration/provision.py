"""`provision`: create or upgrade the connector's tables, columns, choices and lookups from the schema.

Only additions are made: what is missing is created and missing choice options are inserted; anything
extra an admin added, or a column whose definition drifted, is left alone.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from app.dynamics_schema import ALL_TABLES, ChoiceColumn, Column, LookupColumn, Table, table
from plugins_registration import metadata
from plugins_registration.customize import Published, provision_ui
from plugins_registration.errors import RegistrationError
from plugins_registration.report import ChangeReport
from plugins_registration.solution import SOLUTION_HEADER, ensure_solution
from plugins_registration.webapi import WebApi


@dataclass
class TableState:
    """What Dataverse already has of one table."""

    exists: bool
    columns: set[str] = field(default_factory=set)


def missing_columns(definition: Table, existing: Iterable[str]) -> list[Column]:
    present = set(existing)
    return [col for col in definition.columns if col.logical_name not in present]


def missing_options(col: ChoiceColumn, existing_values: Iterable[int]) -> dict[int, str]:
    present = set(existing_values)
    return {value: text for value, text in col.options.items() if value not in present}


def _entity_path(logical_name: str) -> str:
    return f"EntityDefinitions(LogicalName='{logical_name}')"


def read_table(api: WebApi, logical_name: str) -> TableState:
    found = api.get_optional(_entity_path(logical_name), {"$select": "LogicalName,EntitySetName"})
    if found is None:
        return TableState(exists=False)
    rows = api.get_all(f"{_entity_path(logical_name)}/Attributes", {"$select": "LogicalName"})
    return TableState(exists=True, columns={str(row["LogicalName"]) for row in rows})


def read_option_values(api: WebApi, table_name: str, column_name: str) -> set[int]:
    attribute = api.get(
        f"{_entity_path(table_name)}/Attributes(LogicalName='{column_name}')"
        "/Microsoft.Dynamics.CRM.PicklistAttributeMetadata",
        {"$select": "LogicalName", "$expand": "OptionSet"},
    )
    options = (attribute.get("OptionSet") or {}).get("Options") or []
    return {int(item["Value"]) for item in options}


def provision(api: WebApi, report: ChangeReport, customizations: bool = True) -> None:
    """Tables, columns, choices and lookups; then (unless `customizations` is False) forms, views, roles, app."""
    states = {definition.logical_name: read_table(api, definition.logical_name) for definition in ALL_TABLES}
    for definition in ALL_TABLES:
        if not definition.custom and not states[definition.logical_name].exists:
            raise RegistrationError(
                f"This organisation has no {definition.logical_name} table: the connector needs Dynamics 365 Sales"
            )
    solution = ensure_solution(api, report)
    in_solution = {SOLUTION_HEADER: solution} if solution else None
    touched: dict[str, None] = {}  # tables to publish, in order

    for definition in ALL_TABLES:
        state = states[definition.logical_name]
        if not state.exists:
            report.change(f"create table {definition.logical_name} ({definition.label})")
            if not report.dry_run:
                api.post("EntityDefinitions", metadata.entity_metadata(definition), in_solution)
            assert definition.primary_name is not None  # only custom tables can be missing
            state.exists = True
            state.columns = {definition.primary_id, definition.primary_name.logical_name}
            touched[definition.logical_name] = None

    for definition in ALL_TABLES:
        state = states[definition.logical_name]
        new_columns = missing_columns(definition, state.columns)
        for col in new_columns:
            if isinstance(col, LookupColumn):
                continue
            report.change(f"add column {definition.logical_name}.{col.logical_name} ({col.kind}: {col.label})")
            if not report.dry_run:
                path = f"{_entity_path(definition.logical_name)}/Attributes"
                api.post(path, metadata.attribute_metadata(col), in_solution)
        added_options = [
            _add_missing_options(api, report, definition, col, solution)
            for col in definition.columns
            if isinstance(col, ChoiceColumn) and col not in new_columns
        ]
        if new_columns or any(added_options):
            touched[definition.logical_name] = None

    # Lookups last: their relationship needs both tables in place.
    for definition in ALL_TABLES:
        for col in missing_columns(definition, states[definition.logical_name].columns):
            if not isinstance(col, LookupColumn):
                continue
            report.change(f"add lookup {definition.logical_name}.{col.logical_name} -> {col.target}")
            if not report.dry_run:
                body = metadata.relationship_metadata(definition, col, table(col.target).primary_id)
                api.post("RelationshipDefinitions", body, in_solution)

    # Forms, views, roles and the app last: subgrids and views need the columns and relationships above.
    published = Published(tables=dict(touched))
    if customizations:
        provision_ui(api, report, in_solution, published)
    if published:
        shown = [*published.tables, *(["the app"] if published.apps or published.site_maps else [])]
        report.change(f"publish customizations of {', '.join(shown)}")
        if not report.dry_run:
            api.post("PublishXml", {"ParameterXml": published.xml()})


def _add_missing_options(
    api: WebApi, report: ChangeReport, definition: Table, col: ChoiceColumn, solution: str | None
) -> bool:
    existing = read_option_values(api, definition.logical_name, col.logical_name)
    missing = missing_options(col, existing)
    for value, text in missing.items():
        report.change(f"add choice {value} '{text}' to {definition.logical_name}.{col.logical_name}")
        if not report.dry_run:
            body = {
                "EntityLogicalName": definition.logical_name,
                "AttributeLogicalName": col.logical_name,
                "Value": value,
                "Label": metadata.label(text),
            }
            if solution:
                body["SolutionUniqueName"] = solution
            api.post("InsertOptionValue", body)
    return bool(missing)
