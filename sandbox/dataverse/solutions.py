"""Publishers, solutions and solution components, with the checks Dataverse makes on them.

A metadata write that names a solution (the `MSCRM.SolutionUniqueName` header, or `SolutionUniqueName` in an
action's body) must use the customization prefix of that solution's publisher, and the new component is
recorded in that solution. Every component is also part of the Default solution, as in a real organisation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sandbox.dataverse.errors import DUPLICATE, INVALID_ARGUMENT, NOT_FOUND, DataverseError, bad_request
from sandbox.dataverse.schema import Schema, Table, new_id
from sandbox.dataverse.store import Row
from sandbox.dataverse.values import Ref, is_guid, normalise_guid

if TYPE_CHECKING:
    from sandbox.dataverse.records import Records

SOLUTION_HEADER = "MSCRM.SolutionUniqueName"
ENTITY, ATTRIBUTE, RELATIONSHIP = 1, 2, 10
INCLUDE_SUBCOMPONENTS, WITHOUT_SUBCOMPONENTS = 0, 1
CANNOT_CUSTOMIZE = "0x8004f011"

_PREFIX = re.compile(r"^[A-Za-z][A-Za-z0-9]{1,7}$")
_UNIQUE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_VERSION = re.compile(r"^\d+\.\d+(\.\d+){0,2}$")
OPTION_VALUE_PREFIX_RANGE = range(10000, 100000)


# ---- rows written through the Web API -------------------------------------------------------------------


def _check_publisher(records: Records, row: Row) -> None:
    unique = row.get("uniquename") or ""
    if not _UNIQUE_NAME.match(unique):
        raise bad_request(
            f"The publisher unique name '{unique}' may only contain letters, digits and "
            "underscores, and must not start with a digit.",
            INVALID_ARGUMENT,
        )
    prefix = row.get("customizationprefix") or ""
    if not _PREFIX.match(prefix) or prefix.lower().startswith("mscrm"):
        raise bad_request(
            f"The customization prefix '{prefix}' must be 2 to 8 letters or digits, start with a "
            "letter and not start with 'mscrm'.",
            INVALID_ARGUMENT,
        )
    option_prefix = row.get("customizationoptionvalueprefix")
    if option_prefix not in OPTION_VALUE_PREFIX_RANGE:
        raise bad_request(f"The option value prefix {option_prefix} must be between 10000 and 99999.", INVALID_ARGUMENT)
    _check_unique(records, "publisher", row, unique)


def _check_solution(records: Records, row: Row) -> None:
    unique = row.get("uniquename") or ""
    if not _UNIQUE_NAME.match(unique):
        raise bad_request(
            f"The solution unique name '{unique}' may only contain letters, digits and "
            "underscores, and must not start with a digit.",
            INVALID_ARGUMENT,
        )
    version = row.get("version") or ""
    if not _VERSION.match(version):
        raise bad_request(
            f"The solution version '{version}' must be major.minor[.build[.revision]] numbers.", INVALID_ARGUMENT
        )
    _check_unique(records, "solution", row, unique)


def _check_unique(records: Records, logical_name: str, row: Row, unique: str) -> None:
    id_column = f"{logical_name}id"
    for other in records.store.table_rows(logical_name).values():
        if other[id_column] != row[id_column] and str(other["uniquename"]).lower() == unique.lower():
            raise DataverseError(412, DUPLICATE, f"A {logical_name} with the unique name '{unique}' already exists.")


def check(records: Records, table: Table, row: Row) -> None:
    if table.logical_name == "publisher":
        _check_publisher(records, row)
    elif table.logical_name == "solution":
        _check_solution(records, row)


def check_deletable(table: Table, row: Row) -> None:
    from sandbox.dataverse.seed import DEFAULT_PUBLISHER_ID, DEFAULT_SOLUTION_ID

    if (table.logical_name, row.get(table.primary_id)) in (
        ("publisher", DEFAULT_PUBLISHER_ID),
        ("solution", DEFAULT_SOLUTION_ID),
    ):
        raise bad_request(f"The default {table.logical_name} cannot be deleted.", CANNOT_CUSTOMIZE)


# ---- the solution a metadata write names ----------------------------------------------------------------


@dataclass
class SolutionTarget:
    """Where a metadata write puts its component: always the Default solution, and the named one if any."""

    solution_ids: list[str]
    unique_name: str | None = None
    prefix: str | None = None

    def check_prefix(self, schema_name: str, what: str) -> None:
        """With a named solution, a custom name must carry its publisher's prefix (case does not matter)."""
        if self.prefix is not None and not schema_name.lower().startswith(self.prefix.lower() + "_"):
            raise bad_request(
                f"The {what} SchemaName '{schema_name}' must start with '{self.prefix}_', the customization "
                f"prefix of the publisher of solution '{self.unique_name}'.",
                INVALID_ARGUMENT,
            )


def solution_named(records: Records, unique_name: str) -> Row:
    """The unmanaged solution with this unique name, or the error Dataverse gives for a bad name."""
    found = [
        row
        for row in records.store.table_rows("solution").values()
        if str(row["uniquename"]).lower() == unique_name.lower()
    ]
    if not found:
        raise DataverseError(404, NOT_FOUND, f"The solution with unique name '{unique_name}' does not exist.")
    if found[0].get("ismanaged"):
        raise bad_request(f"Components cannot be added to the managed solution '{unique_name}'.", CANNOT_CUSTOMIZE)
    return found[0]


def target(records: Records, unique_name: str | None) -> SolutionTarget:
    from sandbox.dataverse.seed import DEFAULT_SOLUTION_ID

    ids = [DEFAULT_SOLUTION_ID] if records.store.get("solution", DEFAULT_SOLUTION_ID) is not None else []
    if not unique_name:
        return SolutionTarget(ids)
    solution = solution_named(records, unique_name)
    publisher = records.store.get("publisher", solution["publisherid"].id)
    assert publisher is not None  # a publisher with solutions cannot be deleted
    if solution["solutionid"] not in ids:
        ids.append(solution["solutionid"])
    return SolutionTarget(ids, str(solution["uniquename"]), str(publisher["customizationprefix"]))


# ---- components -----------------------------------------------------------------------------------------


def add_component(
    records: Records,
    solution_id: str,
    object_id: str,
    component_type: int,
    root_id: str | None = None,
    behaviour: int | None = None,
) -> str:
    """Record a component in a solution (once) and return its solutioncomponentid."""
    for row in records.store.table_rows("solutioncomponent").values():
        if (
            row["solutionid"] == Ref("solution", solution_id)
            and row["objectid"] == object_id
            and row["componenttype"] == component_type
        ):
            return str(row["solutioncomponentid"])
    row = records.insert_system(
        "solutioncomponent",
        {
            "solutioncomponentid": new_id(),
            "solutionid": Ref("solution", solution_id),
            "objectid": object_id,
            "componenttype": component_type,
            "rootcomponentbehavior": behaviour,
            "rootsolutioncomponentid": root_id,
            "ismetadata": True,
        },
    )
    return str(row["solutioncomponentid"])


def add_table(records: Records, solution_id: str, table: Table) -> None:
    """A new table with its columns: the table is the root, each column a subcomponent of it."""
    root = add_component(records, solution_id, table.metadata_id, ENTITY, behaviour=INCLUDE_SUBCOMPONENTS)
    for col in table.columns.values():
        add_component(records, solution_id, col.metadata_id, ATTRIBUTE, root_id=root)


def record_table(records: Records, where: SolutionTarget, table: Table) -> None:
    for solution_id in where.solution_ids:
        add_table(records, solution_id, table)


def record(records: Records, where: SolutionTarget, object_id: str, component_type: int) -> None:
    for solution_id in where.solution_ids:
        add_component(records, solution_id, object_id, component_type)


def component_exists(schema: Schema, object_id: str, component_type: int) -> bool:
    if component_type == ENTITY:
        return any(t.metadata_id == object_id for t in schema.tables.values())
    if component_type == ATTRIBUTE:
        return any(c.metadata_id == object_id for t in schema.tables.values() for c in t.columns.values())
    if component_type == RELATIONSHIP:
        return any(r.metadata_id == object_id for r in schema.relationships.values())
    raise bad_request(
        f"Component type {component_type} is not supported here (1 entity, 2 attribute, 10 relationship).",
        INVALID_ARGUMENT,
    )


def seed_default_solution(records: Records, solution_id: str) -> None:
    """The Default solution holds every component of the organisation, system ones included."""
    schema = records.schema
    for table in list(schema.tables.values()):
        add_table(records, solution_id, table)
    for rel in schema.relationships.values():
        add_component(records, solution_id, rel.metadata_id, RELATIONSHIP)


def add_solution_component(records: Records, body: dict[str, Any]) -> str:
    """The AddSolutionComponent action: put an existing entity, attribute or relationship into a solution."""
    component_id, component_type = body.get("ComponentId"), body.get("ComponentType")
    unique_name, add_required = body.get("SolutionUniqueName"), body.get("AddRequiredComponents")
    if not isinstance(component_id, str) or not is_guid(component_id):
        raise bad_request("ComponentId must be a Guid.", INVALID_ARGUMENT)
    if not isinstance(component_type, int) or isinstance(component_type, bool):
        raise bad_request("ComponentType must be an integer.", INVALID_ARGUMENT)
    if not isinstance(unique_name, str) or not unique_name:
        raise bad_request("SolutionUniqueName is required.", INVALID_ARGUMENT)
    if not isinstance(add_required, bool):
        raise bad_request("AddRequiredComponents is required and must be true or false.", INVALID_ARGUMENT)
    object_id = normalise_guid(component_id)
    solution = solution_named(records, unique_name)
    if not component_exists(records.schema, object_id, component_type):
        raise DataverseError(404, NOT_FOUND, f"No component of type {component_type} has the id {object_id}.")
    behaviour = None
    if component_type == ENTITY:
        behaviour = WITHOUT_SUBCOMPONENTS if body.get("DoNotIncludeSubcomponents") else INCLUDE_SUBCOMPONENTS
    return add_component(records, str(solution["solutionid"]), object_id, component_type, behaviour=behaviour)
