"""Turns the schema definition into the metadata bodies the Dataverse Web API expects."""

from __future__ import annotations

from typing import Any

from app.dynamics_schema import (
    BooleanColumn,
    ChoiceColumn,
    Column,
    DateTimeColumn,
    DecimalColumn,
    IntegerColumn,
    LookupColumn,
    MemoColumn,
    MoneyColumn,
    StringColumn,
    Table,
)

LANGUAGE_CODE = 1033  # English (United States): the base language every org has
CRM = "Microsoft.Dynamics.CRM"


def label(text: str) -> dict[str, Any]:
    return {
        "@odata.type": f"{CRM}.Label",
        "LocalizedLabels": [{"@odata.type": f"{CRM}.LocalizedLabel", "Label": text, "LanguageCode": LANGUAGE_CODE}],
    }


def _required_level(value: str = "None") -> dict[str, Any]:
    return {"Value": value, "CanBeChanged": True, "ManagedPropertyLogicalName": "canmodifyrequirementlevelsettings"}


def _common(col: Column, odata_type: str) -> dict[str, Any]:
    body: dict[str, Any] = {
        "@odata.type": f"{CRM}.{odata_type}",
        "SchemaName": col.schema_name,
        "DisplayName": label(col.label),
        "RequiredLevel": _required_level(),
    }
    if col.description:
        body["Description"] = label(col.description)
    return body


def attribute_metadata(col: Column) -> dict[str, Any]:
    """The AttributeMetadata body for POST EntityDefinitions(...)/Attributes (not for lookups)."""
    match col:
        case StringColumn():
            body = _common(col, "StringAttributeMetadata")
            body.update(MaxLength=col.max_length, FormatName={"Value": "Url" if col.is_url else "Text"})
        case MemoColumn():
            body = _common(col, "MemoAttributeMetadata")
            body.update(MaxLength=col.max_length, Format="TextArea")
        case IntegerColumn():
            body = _common(col, "IntegerAttributeMetadata")
            body.update(MinValue=col.min_value, MaxValue=col.max_value, Format="None")
        case DecimalColumn():
            body = _common(col, "DecimalAttributeMetadata")
            body.update(Precision=col.precision, MinValue=col.min_value, MaxValue=col.max_value)
        case MoneyColumn():
            body = _common(col, "MoneyAttributeMetadata")
            body.update(
                Precision=col.precision, PrecisionSource=2, MinValue=-922337203685477.0, MaxValue=922337203685477.0
            )
        case BooleanColumn():
            body = _common(col, "BooleanAttributeMetadata")
            body.update(
                DefaultValue=col.default,
                OptionSet={
                    "@odata.type": f"{CRM}.BooleanOptionSetMetadata",
                    "IsGlobal": False,
                    "OptionSetType": "Boolean",
                    "TrueOption": {"Value": 1, "Label": label("Yes")},
                    "FalseOption": {"Value": 0, "Label": label("No")},
                },
            )
        case DateTimeColumn():
            body = _common(col, "DateTimeAttributeMetadata")
            body.update(
                Format="DateOnly" if col.date_only else "DateAndTime",
                DateTimeBehavior={"Value": "DateOnly" if col.date_only else "UserLocal"},
            )
        case ChoiceColumn():
            body = _common(col, "PicklistAttributeMetadata")
            body["OptionSet"] = {
                "@odata.type": f"{CRM}.OptionSetMetadata",
                "IsGlobal": False,
                "OptionSetType": "Picklist",
                "Options": [option(value, text) for value, text in col.options.items()],
            }
            if col.default is not None:
                body["DefaultFormValue"] = int(col.default)
        case _:
            raise TypeError(f"{col.schema_name}: no attribute metadata for a {type(col).__name__}")
    return body


def option(value: int, text: str) -> dict[str, Any]:
    return {"Value": value, "Label": label(text)}


def entity_metadata(table: Table) -> dict[str, Any]:
    """The EntityMetadata body for POST EntityDefinitions: the table with its primary name column only."""
    if not table.custom or table.primary_name is None:
        raise ValueError(f"{table.logical_name} is not one of our tables")
    primary = attribute_metadata(table.primary_name)
    primary["IsPrimaryName"] = True
    primary["RequiredLevel"] = _required_level("ApplicationRequired")
    body: dict[str, Any] = {
        "@odata.type": f"{CRM}.EntityMetadata",
        "SchemaName": table.schema_name,
        "DisplayName": label(table.label),
        "DisplayCollectionName": label(table.plural_label),
        "OwnershipType": "UserOwned",
        "IsActivity": False,
        "HasActivities": False,
        "HasNotes": False,
        "PrimaryNameAttribute": table.primary_name.logical_name,
        "EntitySetName": table.entity_set,
        "Attributes": [primary],
    }
    if table.description:
        body["Description"] = label(table.description)
    return body


def relationship_metadata(referencing: Table, lookup: LookupColumn, referenced_primary_id: str) -> dict[str, Any]:
    """The OneToManyRelationshipMetadata body that creates `lookup` on `referencing`."""
    lookup_body = _common(lookup, "LookupAttributeMetadata")
    return {
        "@odata.type": f"{CRM}.OneToManyRelationshipMetadata",
        "SchemaName": lookup.relationship_name(referencing.logical_name),
        "ReferencedEntity": lookup.target,
        "ReferencedAttribute": referenced_primary_id,
        "ReferencingEntity": referencing.logical_name,
        # Removing a connection or a reference row must not delete invoices: clear the lookup instead.
        "CascadeConfiguration": {
            "Assign": "NoCascade",
            "Delete": "RemoveLink",
            "Merge": "NoCascade",
            "Reparent": "NoCascade",
            "Share": "NoCascade",
            "Unshare": "NoCascade",
        },
        "Lookup": lookup_body,
    }
