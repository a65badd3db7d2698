"""The metadata Web API: EntityDefinitions, their Attributes, RelationshipDefinitions and InsertOptionValue.

Creating a table, column or one-to-many relationship here changes the live schema at once: the new entity
set and columns can be read and written straight away (publishing is accepted and does nothing).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from sandbox.dataverse import customizations, solutions
from sandbox.dataverse.errors import ALREADY_EXISTS, INVALID_ARGUMENT, DataverseError, bad_request
from sandbox.dataverse.schema import ACTIVE_INACTIVE, Column, Kind, Relationship, Table
from sandbox.dataverse.seed import add_message_filters
from sandbox.dataverse.solutions import SolutionTarget

if TYPE_CHECKING:
    from sandbox.dataverse.records import Records

LANGUAGE = 1033
CRM = "Microsoft.Dynamics.CRM."
_CUSTOM_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9]{1,7}_[A-Za-z0-9_]+$")
_TYPE_BY_KIND = {
    Kind.ID: ("UniqueIdentifierAttributeMetadata", "Uniqueidentifier"),
    Kind.STRING: ("StringAttributeMetadata", "String"),
    Kind.MEMO: ("MemoAttributeMetadata", "Memo"),
    Kind.INTEGER: ("IntegerAttributeMetadata", "Integer"),
    Kind.BIGINT: ("BigIntAttributeMetadata", "BigInt"),
    Kind.DECIMAL: ("DecimalAttributeMetadata", "Decimal"),
    Kind.MONEY: ("MoneyAttributeMetadata", "Money"),
    Kind.BOOLEAN: ("BooleanAttributeMetadata", "Boolean"),
    Kind.DATETIME: ("DateTimeAttributeMetadata", "DateTime"),
    Kind.DATEONLY: ("DateTimeAttributeMetadata", "DateTime"),
    Kind.PICKLIST: ("PicklistAttributeMetadata", "Picklist"),
    Kind.STATE: ("StateAttributeMetadata", "State"),
    Kind.STATUS: ("StatusAttributeMetadata", "Status"),
    Kind.LOOKUP: ("LookupAttributeMetadata", "Lookup"),
    Kind.CUSTOMER: ("LookupAttributeMetadata", "Customer"),
    Kind.OWNER: ("LookupAttributeMetadata", "Owner"),
}
_KIND_BY_TYPE = {
    "StringAttributeMetadata": Kind.STRING,
    "MemoAttributeMetadata": Kind.MEMO,
    "IntegerAttributeMetadata": Kind.INTEGER,
    "BigIntAttributeMetadata": Kind.BIGINT,
    "DecimalAttributeMetadata": Kind.DECIMAL,
    "MoneyAttributeMetadata": Kind.MONEY,
    "BooleanAttributeMetadata": Kind.BOOLEAN,
    "DateTimeAttributeMetadata": Kind.DATETIME,
    "PicklistAttributeMetadata": Kind.PICKLIST,
}


def label(text: str) -> dict[str, Any]:
    localized = {"Label": text, "LanguageCode": LANGUAGE, "IsManaged": False}
    return {"LocalizedLabels": [localized], "UserLocalizedLabel": localized}


def read_label(value: Any, default: str = "") -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        user = value.get("UserLocalizedLabel")
        if isinstance(user, dict) and user.get("Label"):
            return str(user["Label"])
        for item in value.get("LocalizedLabels") or []:
            if isinstance(item, dict) and item.get("Label"):
                return str(item["Label"])
    return default


def odata_type(body: dict[str, Any]) -> str:
    return str(body.get("@odata.type", "")).lstrip("#").removeprefix(CRM)


def require_admin(records: Records, ctx: Any, privilege: str) -> None:
    if not ctx.is_admin:
        from sandbox.dataverse.errors import missing_privilege

        raise missing_privilege(ctx.user_id, privilege)


# ---- reading ---------------------------------------------------------------------------------------------


def attribute_metadata(table: Table, col: Column) -> dict[str, Any]:
    type_name, attribute_type = _TYPE_BY_KIND[col.kind]
    body: dict[str, Any] = {
        "@odata.type": f"#{CRM}{type_name}",
        "MetadataId": col.metadata_id,
        "LogicalName": col.logical_name,
        "SchemaName": col.schema_name,
        "EntityLogicalName": table.logical_name,
        "AttributeType": attribute_type,
        "AttributeTypeName": {"Value": f"{attribute_type}Type"},
        "DisplayName": label(col.display_name),
        "Description": label(col.description),
        "RequiredLevel": {"Value": "SystemRequired" if col.required else "None", "CanBeChanged": True},
        "IsCustomAttribute": col.custom,
        "IsPrimaryId": col.logical_name == table.primary_id,
        "IsPrimaryName": col.logical_name == table.primary_name,
        "IsValidForCreate": col.valid_for_create,
        "IsValidForUpdate": col.valid_for_update,
        "IsValidForRead": col.valid_for_read,
    }
    if col.kind in (Kind.STRING, Kind.MEMO):
        body["MaxLength"] = col.max_length
    if col.kind in (Kind.DECIMAL, Kind.MONEY):
        body["Precision"] = col.precision
    if col.kind is Kind.DATETIME:
        body.update({"Format": "DateAndTime", "DateTimeBehavior": {"Value": "UserLocal"}})
    if col.kind is Kind.DATEONLY:
        body.update({"Format": "DateOnly", "DateTimeBehavior": {"Value": "DateOnly"}})
    if col.is_lookup:
        body["Targets"] = list(col.targets)
    if col.kind in (Kind.PICKLIST, Kind.STATE, Kind.STATUS):
        body["OptionSet"] = {
            "IsGlobal": False,
            "OptionSetType": attribute_type,
            "Options": [{"Value": v, "Label": label(text)} for v, text in col.options.items()],
        }
    return body


def entity_metadata(table: Table, with_attributes: bool = False) -> dict[str, Any]:
    body: dict[str, Any] = {
        "MetadataId": table.metadata_id,
        "LogicalName": table.logical_name,
        "SchemaName": table.schema_name,
        "EntitySetName": table.entity_set,
        "LogicalCollectionName": table.entity_set,
        "PrimaryIdAttribute": table.primary_id,
        "PrimaryNameAttribute": table.primary_name or None,
        "DisplayName": label(table.display_name),
        "DisplayCollectionName": label(table.display_collection_name),
        "OwnershipType": table.ownership,
        "ObjectTypeCode": table.object_type_code,
        "IsCustomEntity": table.custom,
        "IsActivity": False,
    }
    if with_attributes:
        body["Attributes"] = [attribute_metadata(table, c) for c in table.columns.values()]
    return body


def relationship_metadata(rel: Relationship) -> dict[str, Any]:
    return {
        "@odata.type": f"#{CRM}OneToManyRelationshipMetadata",
        "MetadataId": rel.metadata_id,
        "SchemaName": rel.schema_name,
        "RelationshipType": "OneToManyRelationship",
        "ReferencedEntity": rel.referenced_entity,
        "ReferencedAttribute": rel.referenced_attribute,
        "ReferencingEntity": rel.referencing_entity,
        "ReferencingAttribute": rel.referencing_attribute,
        "ReferencedEntityNavigationPropertyName": rel.referenced_navigation,
        "ReferencingEntityNavigationPropertyName": rel.referencing_navigation,
        "IsCustomRelationship": rel.custom,
        "CascadeConfiguration": {
            "Assign": "NoCascade",
            "Delete": rel.cascade_delete,
            "Merge": "NoCascade",
            "Reparent": "NoCascade",
            "Share": "NoCascade",
            "Unshare": "NoCascade",
        },
    }


# ---- writing ---------------------------------------------------------------------------------------------


def _custom_schema_name(name: Any, what: str, where: SolutionTarget) -> str:
    if not isinstance(name, str) or not _CUSTOM_NAME.match(name):
        raise bad_request(
            f"The {what} SchemaName '{name}' must start with a publisher prefix, e.g. 'new_Name'.", INVALID_ARGUMENT
        )
    where.check_prefix(name, what)
    return name


def _options(body: dict[str, Any]) -> dict[int, str]:
    option_set = body.get("OptionSet") or {}
    options: dict[int, str] = {}
    for option in option_set.get("Options") or []:
        value = option.get("Value")
        if not isinstance(value, int) or isinstance(value, bool):
            raise bad_request("Every option needs an integer Value.", INVALID_ARGUMENT)
        options[value] = read_label(option.get("Label"), str(value))
    return options


def column_from_body(body: dict[str, Any], where: SolutionTarget) -> Column:
    type_name = odata_type(body)
    if type_name == "LookupAttributeMetadata":
        raise bad_request("Create lookup columns through RelationshipDefinitions.", INVALID_ARGUMENT)
    kind = _KIND_BY_TYPE.get(type_name)
    if kind is None:
        raise bad_request(f"The attribute type '{body.get('@odata.type')}' is not supported.", INVALID_ARGUMENT)
    schema_name = _custom_schema_name(body.get("SchemaName"), "attribute", where)
    behaviour = body.get("DateTimeBehavior")
    behaviour = behaviour.get("Value") if isinstance(behaviour, dict) else behaviour
    if kind is Kind.DATETIME and (body.get("Format") == "DateOnly" or behaviour == "DateOnly"):
        kind = Kind.DATEONLY
    required = (body.get("RequiredLevel") or {}).get("Value") == "SystemRequired"
    col = Column(
        schema_name.lower(),
        kind,
        schema_name,
        read_label(body.get("DisplayName"), schema_name),
        custom=True,
        required=required,
        max_length=body.get("MaxLength") or (100 if kind is Kind.STRING else 2000 if kind is Kind.MEMO else None),
        precision=body.get("Precision") or (2 if kind in (Kind.DECIMAL, Kind.MONEY) else None),
        is_primary_name=bool(body.get("IsPrimaryName")),
        description=read_label(body.get("Description"), ""),
    )
    if kind is Kind.PICKLIST:
        col.options = _options(body)
    return col


def create_entity(records: Records, body: dict[str, Any], where: SolutionTarget) -> Table:
    schema = records.schema
    schema_name = _custom_schema_name(body.get("SchemaName"), "entity", where)
    logical = schema_name.lower()
    if logical in schema.tables:
        raise DataverseError(400, ALREADY_EXISTS, f"An entity with the name '{logical}' already exists.")
    attributes = [a for a in body.get("Attributes") or [] if isinstance(a, dict)]
    primary = [a for a in attributes if a.get("IsPrimaryName")]
    if len(primary) != 1 or odata_type(primary[0]) != "StringAttributeMetadata":
        raise bad_request(
            "A new table needs exactly one StringAttributeMetadata with IsPrimaryName true in Attributes.",
            INVALID_ARGUMENT,
        )
    ownership = body.get("OwnershipType", "UserOwned")
    if ownership not in ("UserOwned", "OrganizationOwned"):
        raise bad_request(f"OwnershipType '{ownership}' is not supported.", INVALID_ARGUMENT)
    columns = [column_from_body(a, where) for a in attributes]
    primary_name = columns[attributes.index(primary[0])].logical_name
    table = Table(
        logical,
        f"{logical}s",
        f"{logical}id",
        primary_name,
        schema_name,
        read_label(body.get("DisplayName"), schema_name),
        read_label(body.get("DisplayCollectionName"), f"{schema_name}s"),
        ownership=ownership,
        object_type_code=10000 + sum(1 for t in schema.tables.values() if t.custom),
        custom=True,
        state_status=dict(ACTIVE_INACTIVE),
    )
    schema.add_table(table)
    table.add(*columns)
    records.store.table_rows(logical)
    add_message_filters(records, logical)
    solutions.record_table(records, where, table)
    customizations.on_new_table(records, table)
    return table


def create_attribute(records: Records, table: Table, body: dict[str, Any], where: SolutionTarget) -> Column:
    col = column_from_body(body, where)
    if col.logical_name in table.columns:
        raise DataverseError(
            400,
            ALREADY_EXISTS,
            f"An attribute with the name '{col.logical_name}' already exists on {table.logical_name}.",
        )
    table.add(col)
    solutions.record(records, where, col.metadata_id, solutions.ATTRIBUTE)
    return col


def update_attribute(table: Table, col: Column, body: dict[str, Any]) -> None:
    type_name = odata_type(body)
    if type_name and type_name != _TYPE_BY_KIND[col.kind][0]:
        raise bad_request("The type of an attribute cannot be changed.", INVALID_ARGUMENT)
    if "DisplayName" in body:
        col.display_name = read_label(body["DisplayName"], col.display_name)
    if isinstance(body.get("MaxLength"), int) and col.kind in (Kind.STRING, Kind.MEMO):
        col.max_length = body["MaxLength"]
    if "RequiredLevel" in body and col.custom:
        col.required = (body.get("RequiredLevel") or {}).get("Value") == "SystemRequired"
    if col.kind is Kind.PICKLIST and (body.get("OptionSet") or {}).get("Options"):
        col.options.update(_options(body))


def insert_option_value(records: Records, body: dict[str, Any]) -> int:
    table = records.schema.tables.get(str(body.get("EntityLogicalName", "")))
    col = table.columns.get(str(body.get("AttributeLogicalName", ""))) if table else None
    if table is None or col is None or col.kind is not Kind.PICKLIST:
        raise bad_request(
            "InsertOptionValue needs the EntityLogicalName and AttributeLogicalName of a choice "
            "column (global option sets are not supported here).",
            INVALID_ARGUMENT,
        )
    value = body.get("Value")
    if value is None:
        value = max([v for v in col.options if v >= 100000000], default=99999999) + 1
    if not isinstance(value, int) or isinstance(value, bool):
        raise bad_request("Value must be an integer.", INVALID_ARGUMENT)
    if value in col.options:
        raise DataverseError(400, ALREADY_EXISTS, f"An option with the value {value} already exists.")
    col.options[value] = read_label(body.get("Label"), str(value))
    return value


def create_relationship(records: Records, body: dict[str, Any], where: SolutionTarget) -> Relationship:
    schema = records.schema
    if odata_type(body) != "OneToManyRelationshipMetadata":
        raise bad_request("Only OneToManyRelationshipMetadata is supported.", INVALID_ARGUMENT)
    name = _custom_schema_name(body.get("SchemaName"), "relationship", where)
    if name in schema.relationships:
        raise DataverseError(400, ALREADY_EXISTS, f"A relationship named '{name}' already exists.")
    referenced = schema.tables.get(str(body.get("ReferencedEntity", "")))
    referencing = schema.tables.get(str(body.get("ReferencingEntity", "")))
    if referenced is None or referencing is None:
        raise bad_request("ReferencedEntity and ReferencingEntity must name existing tables.", INVALID_ARGUMENT)
    lookup = body.get("Lookup")
    if not isinstance(lookup, dict):
        raise bad_request("A one-to-many relationship needs its Lookup (LookupAttributeMetadata).", INVALID_ARGUMENT)
    lookup_schema = _custom_schema_name(lookup.get("SchemaName"), "lookup attribute", where)
    if lookup_schema.lower() in referencing.columns:
        raise DataverseError(400, ALREADY_EXISTS, f"An attribute named '{lookup_schema.lower()}' already exists.")
    col = Column(
        lookup_schema.lower(),
        Kind.LOOKUP,
        lookup_schema,
        read_label(lookup.get("DisplayName"), lookup_schema),
        targets=(referenced.logical_name,),
        custom=True,
        description=read_label(lookup.get("Description"), ""),
    )
    referencing.add(col)
    cascade = (body.get("CascadeConfiguration") or {}).get("Delete", "RemoveLink")
    rel = Relationship(
        schema_name=name,
        referenced_entity=referenced.logical_name,
        referenced_attribute=referenced.primary_id,
        referencing_entity=referencing.logical_name,
        referencing_attribute=col.logical_name,
        referenced_navigation=body.get("ReferencedEntityNavigationPropertyName") or name,
        referencing_navigation=body.get("ReferencingEntityNavigationPropertyName") or lookup_schema,
        cascade_delete=cascade if cascade in ("Cascade", "RemoveLink", "Restrict") else "RemoveLink",
        custom=True,
    )
    schema.relate(rel)
    solutions.record(records, where, rel.metadata_id, solutions.RELATIONSHIP)
    solutions.record(records, where, col.metadata_id, solutions.ATTRIBUTE)
    return rel
