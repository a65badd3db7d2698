"""Parse the JSON form of a Dataverse `RemoteExecutionContext` into a `DataverseEvent`.

Dataverse serialises with WCF's DataContractJsonSerializer, so collections are arrays of key/value pairs and
typed values carry a `__type` (see the reference, section 1). Structure is validated with marshmallow; the
typed values are decoded by `decode_value`, a small recursive walk that no library offers for this format.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validates_schema

from app.events import DataverseEvent, EntityRef
from app.webhooks import safe_json
from app.webhooks.dataverse_columns import wrong_column_type

_DATE = re.compile(r"^/Date\((-?\d{1,20})([+-]\d{4})?\)/$")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
TRIMMED_HEADER = "x-ms-dynamics-msg-size-exceeded"


class MalformedContext(ValueError):
    """The body is not a usable RemoteExecutionContext; the message names the problem for a 400."""


def _type_name(value: Mapping[str, Any]) -> str:
    # "Money:http://schemas.microsoft.com/xrm/2011/Contracts" -> "Money"; "Guid:#System" -> "Guid"
    return str(value.get("__type", "")).split(":", 1)[0]


def _decode_date(text: str) -> datetime | None:
    match = _DATE.match(text)
    if not match:
        return None
    # The optional +hhmm suffix is display information only: the milliseconds are already UTC.
    milliseconds = int(match.group(1))
    try:
        return _EPOCH + timedelta(milliseconds=milliseconds)
    except OverflowError:
        raise MalformedContext(f"{text[:40]} is not a date Dataverse can hold") from None


_CANONICAL_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def normal_guid(value: Any) -> str | None:
    """A GUID in Dataverse's form, lower-cased (or braced / without dashes, normalised); None if it is not one."""
    if not isinstance(value, str):
        return None
    if _CANONICAL_GUID.match(value):  # the common case, without building a UUID
        return value.lower()
    try:
        return str(uuid.UUID(value))
    except ValueError:
        return None


def _guid(value: Any, what: str) -> str:
    guid = normal_guid(value)
    if guid is None:
        raise MalformedContext(f"{what} must be a GUID")
    return guid


def _whole_number(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | Decimal) or value != int(value):
        raise MalformedContext(f"{what} must be a whole number")
    return int(value)


MAX_VALUE_DEPTH = 12  # an attribute value nests 3 or 4 deep (an EntityCollection of entities of typed values)


def decode_value(value: Any, depth: int = 0) -> Any:
    """Turn one WCF-JSON value into plain Python (see DataverseEvent for the resulting types)."""
    if depth > MAX_VALUE_DEPTH:
        raise MalformedContext(f"a value nests deeper than {MAX_VALUE_DEPTH} levels")
    if isinstance(value, str):
        date = _decode_date(value)
        return date if date is not None else value
    if isinstance(value, list):
        return [decode_value(item, depth + 1) for item in value]
    if not isinstance(value, dict):
        return value
    type_name = _type_name(value)
    if type_name == "OptionSetValue":
        return _whole_number(value.get("Value"), "an OptionSetValue's Value")
    if type_name == "Money":
        amount = value.get("Value")
        if isinstance(amount, bool) or not isinstance(amount, int | Decimal):
            raise MalformedContext("a Money value must be a number")
        return Decimal(amount)
    if type_name == "EntityReference":
        ref_id = value.get("Id")
        name = value.get("Name")
        logical_name = value.get("LogicalName")
        if not isinstance(logical_name, str | None) or not isinstance(name, str | None):
            raise MalformedContext("an EntityReference's LogicalName and Name must be text")
        return EntityRef(
            logical_name=logical_name or "",
            id=_guid(ref_id, "an EntityReference's Id") if ref_id else "",
            name=name,
        )
    if type_name == "OptionSetValueCollection":
        items = value.get("Values", value.get("__value", []))
        if not isinstance(items, list):
            raise MalformedContext("an OptionSetValueCollection must hold a list of choices")
        return [
            _whole_number(item.get("Value") if isinstance(item, dict) else item, "a choice in a collection")
            for item in items
        ]
    if type_name == "EntityCollection":
        entities = value.get("Entities", [])
        if not isinstance(entities, list) or not all(isinstance(item, dict) for item in entities):
            raise MalformedContext("an EntityCollection must hold a list of entities")
        return [decode_entity(item, depth + 1) for item in entities]
    if "__value" in value:  # WCF-wrapped primitive, e.g. Guid:#System or DateTime:#System
        return decode_value(value["__value"], depth + 1)
    if "Attributes" in value and "LogicalName" in value:
        return decode_entity(value, depth + 1)
    if type_name and "Value" in value:
        return decode_value(value["Value"], depth + 1)
    return {key: decode_value(item, depth + 1) for key, item in value.items() if key != "__type"}


def _pairs(items: Any, where: str) -> dict[str, Any]:
    """A WCF key/value array as a dict (a plain object is accepted too: some tools re-serialise)."""
    if items is None:
        return {}
    if isinstance(items, dict):
        return dict(items)
    if not isinstance(items, list):
        raise MalformedContext(f"{where} must be a list of key/value pairs")
    result: dict[str, Any] = {}
    for index, pair in enumerate(items):
        if not isinstance(pair, dict) or "key" not in pair:
            raise MalformedContext(f"{where}[{index}] is not a key/value pair")
        result[str(pair["key"])] = pair.get("value")
    return result


def decode_entity(entity: Mapping[str, Any], depth: int = 0) -> dict[str, Any]:
    """An Entity's attributes as a dict of plain values."""
    if not isinstance(entity, Mapping):
        raise MalformedContext("an entity must be an object")
    attributes = _pairs(entity.get("Attributes"), "Attributes")
    return {key: decode_value(value, depth + 1) for key, value in attributes.items()}


class _Guid(fields.String):
    """A GUID, plain or WCF-wrapped, normalised to lower case."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        if isinstance(value, dict) and "__value" in value:
            value = value["__value"]
        guid = normal_guid(super()._deserialize(value, attr, data, **kwargs))
        if guid is None:
            raise ValidationError("Not a valid GUID.")
        return guid


class _WcfDate(fields.Field):
    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> datetime | None:
        if isinstance(value, dict) and "__value" in value:
            value = value["__value"]
        if value is None:
            return None
        try:
            date = _decode_date(value) if isinstance(value, str) else None
        except MalformedContext as exc:
            raise ValidationError(str(exc)) from None
        if date is None:
            raise ValidationError("Not a /Date(ms)/ value.")
        return date


class _PairList(fields.Field):
    """Accepts a key/value array (or an object); validation only, the decoding happens afterwards."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if value is not None and not isinstance(value, list | dict):
            raise ValidationError("Must be a list of key/value pairs.")
        return value


class _ContextSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    MessageName = fields.String(required=True)
    PrimaryEntityName = fields.String(required=True)
    PrimaryEntityId = _Guid(required=True)
    OrganizationId = _Guid(required=True)
    OrganizationName = fields.String(allow_none=True, load_default=None)
    CorrelationId = _Guid(allow_none=True, load_default=None)
    OperationId = _Guid(allow_none=True, load_default=None)
    RequestId = _Guid(allow_none=True, load_default=None)
    InitiatingUserId = _Guid(allow_none=True, load_default=None)
    UserId = _Guid(allow_none=True, load_default=None)
    Depth = fields.Integer(allow_none=True, load_default=None)
    OperationCreatedOn = _WcfDate(allow_none=True, load_default=None)
    InputParameters = _PairList(allow_none=True, load_default=None)
    PreEntityImages = _PairList(allow_none=True, load_default=None)
    PostEntityImages = _PairList(allow_none=True, load_default=None)

    @validates_schema
    def _names_not_empty(self, data: dict[str, Any], **kwargs: Any) -> None:
        for key in ("MessageName", "PrimaryEntityName"):
            if key in data and not data[key].strip():
                raise ValidationError("Must not be empty.", field_name=key)


_SCHEMA = _ContextSchema()


def _load_json(body: bytes) -> Any:
    if not body or not body.strip():
        raise MalformedContext("the body is empty")
    try:
        document = safe_json.loads(body)
        if isinstance(document, str):  # some relays deliver the JSON as a JSON string holding it
            document = safe_json.loads(document)
    except safe_json.UnsafeJson as exc:
        raise MalformedContext(str(exc)) from None
    if not isinstance(document, dict):
        raise MalformedContext("the body must be a JSON object (a RemoteExecutionContext)")
    return document


def _images(raw: Any, where: str) -> dict[str, dict[str, Any]]:
    images: dict[str, dict[str, Any]] = {}
    for alias, entity in _pairs(raw, where).items():
        if entity is None:
            continue
        if not isinstance(entity, dict):
            raise MalformedContext(f"{where}.{alias} is not an entity")
        images[alias] = decode_entity(entity)
    return images


def _describe(errors: Mapping[str, Any]) -> str:
    parts = []
    for key, messages in sorted(errors.items()):
        text = "; ".join(str(m) for m in messages) if isinstance(messages, list) else str(messages)
        parts.append(f"{key}: {text}")
    return ", ".join(parts)


def parse_context(body: bytes, headers: Mapping[str, str] | None = None) -> DataverseEvent:
    """Validate and decode one webhook body. Raises MalformedContext naming the first problem found."""
    headers = {key.lower(): value for key, value in (headers or {}).items()}
    document = _load_json(body)
    try:
        data = _SCHEMA.load(document)
    except ValidationError as exc:
        raise MalformedContext(f"invalid RemoteExecutionContext: {_describe(exc.messages_dict)}") from exc

    try:
        event = _to_event(data, trimmed=TRIMMED_HEADER in headers or data["InputParameters"] is None)
    except (KeyError, TypeError, ValueError, ArithmeticError, AttributeError, RecursionError) as exc:
        if isinstance(exc, MalformedContext):
            raise
        raise MalformedContext(f"a typed value could not be read ({type(exc).__name__}: {exc})") from exc
    problem = wrong_column_type(event)
    if problem:
        raise MalformedContext(problem)
    return event


def _to_event(data: dict[str, Any], *, trimmed: bool) -> DataverseEvent:
    changed: dict[str, Any] = {}
    target = _pairs(data["InputParameters"], "InputParameters").get("Target")
    if isinstance(target, dict) and "Attributes" in target:
        changed = decode_entity(target)
    elif target is not None and not isinstance(target, dict):
        raise MalformedContext("InputParameters.Target must be an Entity or an EntityReference")

    return DataverseEvent(
        organization_id=data["OrganizationId"],
        organization_name=data["OrganizationName"],
        entity=data["PrimaryEntityName"].lower(),
        record_id=data["PrimaryEntityId"],
        message=data["MessageName"],
        changed_attributes=changed,
        pre_images=_images(data["PreEntityImages"], "PreEntityImages"),
        post_images=_images(data["PostEntityImages"], "PostEntityImages"),
        correlation_id=data["CorrelationId"],
        operation_id=data["OperationId"],
        request_id=data["RequestId"],
        initiating_user_id=data["InitiatingUserId"],
        user_id=data["UserId"],
        depth=data["Depth"],
        operation_created_on=data["OperationCreatedOn"],
        trimmed=trimmed,
    )
