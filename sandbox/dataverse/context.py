"""The `RemoteExecutionContext` a service-endpoint webhook receives, in WCF DataContractJsonSerializer style.

Members are written in alphabetical order with `__type` first, as that serializer does; `render` escapes
every slash (`http:\\/\\/schemas...`) the way the real bytes look.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

from sandbox.dataverse.schema import Column, Kind, Table
from sandbox.dataverse.store import ChangeEvent, Row
from sandbox.dataverse.values import Ref, formatted

CONTRACTS = "http://schemas.microsoft.com/xrm/2011/Contracts"
EMPTY_GUID = "00000000-0000-0000-0000-000000000000"
TRIMMED_KEYS = ("ParentContext", "InputParameters", "PreEntityImages", "PostEntityImages")


def wcf_date(value: datetime | date) -> str:
    if not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day, tzinfo=UTC)
    return f"/Date({int(value.timestamp() * 1000)})/"


def entity_reference(ref: Ref, name: str | None = None, typed: bool = True) -> dict[str, Any]:
    body: dict[str, Any] = {"__type": f"EntityReference:{CONTRACTS}"} if typed else {}
    body.update({"Id": ref.id, "KeyAttributes": [], "LogicalName": ref.table, "Name": name, "RowVersion": None})
    return body


def wcf_value(col: Column, value: Any, name_of: Any = None) -> Any:
    if value is None:
        return None
    kind = col.kind
    if kind in (Kind.PICKLIST, Kind.STATE, Kind.STATUS):
        return {"__type": f"OptionSetValue:{CONTRACTS}", "Value": value}
    if kind is Kind.MONEY:
        return {"__type": f"Money:{CONTRACTS}", "Value": float(value)}
    if kind is Kind.DECIMAL:
        return float(value)
    if kind in (Kind.DATETIME, Kind.DATEONLY):
        return wcf_date(value)
    if col.is_lookup:
        return entity_reference(value, name_of(value) if name_of else None)
    return value


def kv(pairs: list[tuple[str, Any]]) -> list[dict[str, Any]]:
    return [{"key": key, "value": value} for key, value in pairs]


class ContextBuilder:
    def __init__(self, table: Table, name_of: Any, currency_symbol: Any):
        self.table = table
        self.name_of = name_of
        self.currency_symbol = currency_symbol

    def entity(
        self, row: Row, record_id: str, names: list[str] | None, typed: bool, with_lookup_names: bool = True
    ) -> dict[str, Any]:
        """An Entity with the non-null columns of `row` (or only `names`, when given)."""
        attributes: list[tuple[str, Any]] = []
        formatted_values: list[tuple[str, Any]] = []
        symbol = self.currency_symbol(row)
        for name, col in self.table.columns.items():
            if not col.valid_for_read or (names is not None and name not in names):
                continue
            value = row.get(name)
            if value is None and (names is None or name not in row):
                continue
            attributes.append((name, wcf_value(col, value, self.name_of if with_lookup_names else None)))
            text = formatted(col, value, symbol) if not col.is_lookup else None
            if text is not None:
                formatted_values.append((name, text))
        body: dict[str, Any] = {"__type": f"Entity:{CONTRACTS}"} if typed else {}
        body.update(
            {
                "Attributes": kv(attributes),
                "EntityState": None,
                "FormattedValues": kv(formatted_values),
                "Id": record_id,
                "KeyAttributes": [],
                "LogicalName": self.table.logical_name,
                "RelatedEntities": [],
                "RowVersion": None,
            }
        )
        return body

    def target(self, event: ChangeEvent) -> dict[str, Any]:
        if event.message == "Delete":
            return entity_reference(Ref(event.table, event.record_id))
        names = None if event.message == "Create" else list(event.target)
        return self.entity(event.target, event.record_id, names, typed=True, with_lookup_names=False)

    def image(self, row: Row, record_id: str, attributes: str | None) -> dict[str, Any]:
        names = [a.strip() for a in attributes.split(",") if a.strip()] if attributes else None
        if names is not None:
            names = [n for n in names if row.get(n) is not None]
        return self.entity(row, record_id, names, typed=False)


def build_context(
    *,
    event: ChangeEvent,
    builder: ContextBuilder,
    step: Row,
    images: list[Row],
    operation_id: str,
    created_on: datetime,
    organization: dict[str, str],
) -> dict[str, Any]:
    table = builder.table
    is_async = step.get("mode") == 1
    pre_images: list[tuple[str, Any]] = []
    post_images: list[tuple[str, Any]] = []
    for image in images:
        alias = image["entityalias"]
        if image["imagetype"] in (0, 2) and event.pre is not None:
            pre_images.append((alias, builder.image(event.pre, event.record_id, image.get("attributes"))))
        if image["imagetype"] in (1, 2) and event.post is not None:
            post_images.append((alias, builder.image(event.post, event.record_id, image.get("attributes"))))
    if is_async and event.post is not None:
        post_images.append(
            (
                "AsynchronousStepPrimaryName",
                builder.image(event.post, event.record_id, f"{table.primary_name},{table.primary_id}"),
            )
        )
    input_parameters = kv([("Target", builder.target(event))])
    output_parameters = kv([("id", event.record_id)]) if event.message == "Create" else []
    shared = kv([("tag", event.tag)]) if event.tag else []

    def common(stage: int, mode: int, parent: bool) -> dict[str, Any]:
        return {
            "BusinessUnitId": organization["business_unit_id"],
            "CorrelationId": event.correlation_id,
            "Depth": event.depth,
            "InitiatingUserAzureActiveDirectoryObjectId": EMPTY_GUID,
            "InitiatingUserId": event.user_id,
            "InputParameters": input_parameters,
            "IsExecutingOffline": False,
            "IsInTransaction": not is_async,
            "IsOfflinePlayback": False,
            "IsolationMode": 1,
            "MessageName": event.message,
            "Mode": mode,
            "OperationCreatedOn": wcf_date(created_on),
            "OperationId": EMPTY_GUID if parent else operation_id,
            "OrganizationId": organization["organization_id"],
            "OrganizationName": organization["organization_name"],
            "OutputParameters": [] if parent or stage < 40 else output_parameters,
        }

    parent = None
    if is_async:
        parent = common(30, 0, parent=True)
        parent.update(
            {
                "OwningExtension": {
                    "Id": EMPTY_GUID,
                    "KeyAttributes": [],
                    "LogicalName": None,
                    "Name": None,
                    "RowVersion": None,
                },
                "ParentContext": None,
                "PostEntityImages": [],
                "PreEntityImages": [],
                "PrimaryEntityId": event.record_id,
                "PrimaryEntityName": event.table,
                "RequestId": None,
                "SecondaryEntityName": "none",
                "SharedVariables": shared,
                "Stage": 30,
                "UserAzureActiveDirectoryObjectId": EMPTY_GUID,
                "UserId": event.user_id,
            }
        )
    stage = int(step.get("stage") or 40)
    context = common(stage, 1 if is_async else 0, parent=False)
    impersonating = step.get("impersonatinguserid")
    context.update(
        {
            "OwningExtension": {
                "Id": step["sdkmessageprocessingstepid"],
                "KeyAttributes": [],
                "LogicalName": "sdkmessageprocessingstep",
                "Name": step.get("name"),
                "RowVersion": None,
            },
            "ParentContext": parent,
            "PostEntityImages": kv(post_images),
            "PreEntityImages": kv(pre_images),
            "PrimaryEntityId": event.record_id,
            "PrimaryEntityName": event.table,
            "RequestId": None,
            "SecondaryEntityName": "none",
            "SharedVariables": shared,
            "Stage": stage,
            "UserAzureActiveDirectoryObjectId": EMPTY_GUID,
            "UserId": impersonating.id if isinstance(impersonating, Ref) else event.user_id,
        }
    )
    return context


def render(context: dict[str, Any], size_limit: int) -> tuple[bytes, bool]:
    """The raw bytes Dataverse posts, trimmed as it does when they exceed `size_limit`."""

    def dump(body: dict[str, Any]) -> bytes:
        text = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
        # '/' only ever occurs inside JSON strings, so escaping it everywhere is exactly what WCF writes.
        return text.replace("/", "\\/").encode("utf-8")

    raw = dump(context)
    if len(raw) <= size_limit:
        return raw, False
    trimmed = {k: v for k, v in context.items() if k not in TRIMMED_KEYS}
    return dump(trimmed), True
