"""Provisioning through the metadata API: new tables, columns, choices and lookups become usable at once."""

from __future__ import annotations

from typing import Any

import requests

from sandbox.dataverse.seed import SANDBOX_PERSON_TOKEN
from sandbox.dataverse.server import RunningDataverse
from tests.sandbox.dataverse.helpers import created_id
from tests.sandbox.dataverse.receiver import Receiver
from tests.sandbox.dataverse.registering import register

CRM = "Microsoft.Dynamics.CRM."


def label(text: str) -> dict[str, Any]:
    return {
        "@odata.type": CRM + "Label",
        "LocalizedLabels": [{"@odata.type": CRM + "LocalizedLabel", "Label": text, "LanguageCode": 1033}],
    }


CONNECTION_TABLE = {
    "@odata.type": CRM + "EntityMetadata",
    "SchemaName": "xc_Connection",
    "DisplayName": label("Xero Connection"),
    "DisplayCollectionName": label("Xero Connections"),
    "OwnershipType": "OrganizationOwned",
    "HasActivities": False,
    "HasNotes": False,
    "PrimaryNameAttribute": "xc_name",
    "Attributes": [
        {
            "@odata.type": CRM + "StringAttributeMetadata",
            "SchemaName": "xc_Name",
            "IsPrimaryName": True,
            "MaxLength": 100,
            "DisplayName": label("Name"),
            "RequiredLevel": {"Value": "None"},
        }
    ],
}
INVOICE_TYPE = {
    "@odata.type": CRM + "PicklistAttributeMetadata",
    "SchemaName": "xc_InvoiceType",
    "DisplayName": label("Invoice Type"),
    "OptionSet": {
        "@odata.type": CRM + "OptionSetMetadata",
        "IsGlobal": False,
        "OptionSetType": "Picklist",
        "Options": [{"Value": 100000000, "Label": label("Sales Invoice")}],
    },
}
CONNECTION_LOOKUP = {
    "@odata.type": CRM + "OneToManyRelationshipMetadata",
    "SchemaName": "xc_connection_invoice",
    "ReferencedEntity": "xc_connection",
    "ReferencedAttribute": "xc_connectionid",
    "ReferencingEntity": "invoice",
    "Lookup": {
        "@odata.type": CRM + "LookupAttributeMetadata",
        "SchemaName": "xc_ConnectionId",
        "DisplayName": label("Xero Connection"),
    },
}


def provision(session: requests.Session, api: str) -> None:
    for path, body in (
        ("EntityDefinitions", CONNECTION_TABLE),
        ("EntityDefinitions(LogicalName='invoice')/Attributes", INVOICE_TYPE),
        ("RelationshipDefinitions", CONNECTION_LOOKUP),
    ):
        response = session.post(api + path, json=body)
        assert response.status_code == 204, response.text
        assert response.headers["OData-EntityId"]
    assert session.post(api + "PublishAllXml", json={}).status_code == 204


def test_absent_table_and_column(dataverse_session: requests.Session, api: str) -> None:
    assert dataverse_session.get(api + "EntityDefinitions(LogicalName='xc_connection')").status_code == 404
    missing = dataverse_session.get(api + "invoices?$select=xc_invoicetype")
    assert missing.status_code == 400
    assert "Could not find a property named 'xc_invoicetype'" in missing.json()["error"]["message"]
    assert dataverse_session.get(api + "xc_connections").status_code == 404


def test_provisioned_table_column_and_lookup_are_usable(
    dataverse_session: requests.Session, api: str, invoice_id: str
) -> None:
    provision(dataverse_session, api)
    table = dataverse_session.get(
        api + "EntityDefinitions(LogicalName='xc_connection')",
        params={
            "$select": "LogicalName,EntitySetName,PrimaryIdAttribute,PrimaryNameAttribute",
            "$expand": "Attributes",
        },
    ).json()
    assert (table["EntitySetName"], table["PrimaryIdAttribute"], table["PrimaryNameAttribute"]) == (
        "xc_connections",
        "xc_connectionid",
        "xc_name",
    )
    assert "xc_name" in {a["LogicalName"] for a in table["Attributes"]}

    connection_id = created_id(dataverse_session.post(api + "xc_connections", json={"xc_name": "Demo Company"}))
    url = api + f"invoices({invoice_id})"
    assert (
        dataverse_session.patch(
            url,
            json={"xc_invoicetype": 100000000, "xc_ConnectionId@odata.bind": f"/xc_connections({connection_id})"},
        ).status_code
        == 204
    )
    row = dataverse_session.get(
        url + "?$select=xc_invoicetype,_xc_connectionid_value", headers={"Prefer": 'odata.include-annotations="*"'}
    ).json()
    assert row["xc_invoicetype"] == 100000000
    assert row["xc_invoicetype@OData.Community.Display.V1.FormattedValue"] == "Sales Invoice"
    assert row["_xc_connectionid_value"] == connection_id
    wrong_case = dataverse_session.patch(url, json={"xc_connectionid@odata.bind": f"/xc_connections({connection_id})"})
    assert wrong_case.status_code == 400
    out_of_range = dataverse_session.patch(url, json={"xc_invoicetype": 100000009})
    assert out_of_range.status_code == 400
    relationship = dataverse_session.get(api + "RelationshipDefinitions(SchemaName='xc_connection_invoice')").json()
    assert relationship["ReferencingEntityNavigationPropertyName"] == "xc_ConnectionId"
    expanded = dataverse_session.get(
        api + f"xc_connections({connection_id})?$expand=xc_connection_invoice($select=name)"
    ).json()
    assert [i["name"] for i in expanded["xc_connection_invoice"]] == ["Website build"]


def test_choice_options_can_be_added(dataverse_session: requests.Session, api: str) -> None:
    provision(dataverse_session, api)
    added = dataverse_session.post(
        api + "InsertOptionValue",
        json={
            "EntityLogicalName": "invoice",
            "AttributeLogicalName": "xc_invoicetype",
            "Value": 100000002,
            "Label": label("Sales Credit Note"),
        },
    )
    assert added.status_code == 200
    assert added.json()["NewOptionValue"] == 100000002
    attribute = dataverse_session.get(
        api + "EntityDefinitions(LogicalName='invoice')/Attributes(LogicalName='xc_invoicetype')/"
        "Microsoft.Dynamics.CRM.PicklistAttributeMetadata",
        params={"$expand": "OptionSet"},
    ).json()
    assert [o["Value"] for o in attribute["OptionSet"]["Options"]] == [100000000, 100000002]
    put = dataverse_session.put(
        api + "EntityDefinitions(LogicalName='invoice')/Attributes(LogicalName='xc_invoicetype')",
        json={**INVOICE_TYPE, "DisplayName": label("Xero Invoice Type")},
    )
    assert put.status_code == 204
    renamed = dataverse_session.get(
        api + "EntityDefinitions(LogicalName='invoice')/Attributes(LogicalName='xc_invoicetype')"
    ).json()
    assert renamed["DisplayName"]["UserLocalizedLabel"]["Label"] == "Xero Invoice Type"


def test_every_column_type_can_be_created_and_written(dataverse_session: requests.Session, api: str) -> None:
    columns = {
        "xc_Text": ("StringAttributeMetadata", {"MaxLength": 50}, "hello"),
        "xc_Amount": ("MoneyAttributeMetadata", {"Precision": 2}, 12.5),
        "xc_Count": ("IntegerAttributeMetadata", {}, 3),
        "xc_Rate": ("DecimalAttributeMetadata", {"Precision": 4}, 0.125),
        "xc_Flag": (
            "BooleanAttributeMetadata",
            {
                "OptionSet": {
                    "TrueOption": {"Value": 1, "Label": label("Yes")},
                    "FalseOption": {"Value": 0, "Label": label("No")},
                }
            },
            True,
        ),
        "xc_When": ("DateTimeAttributeMetadata", {"Format": "DateOnly"}, "2026-01-31"),
        "xc_Notes": ("MemoAttributeMetadata", {"MaxLength": 4000}, "long text"),
    }
    for schema_name, (kind, extra, _) in columns.items():
        response = dataverse_session.post(
            api + "EntityDefinitions(LogicalName='account')/Attributes",
            json={"@odata.type": CRM + kind, "SchemaName": schema_name, "DisplayName": label(schema_name), **extra},
        )
        assert response.status_code == 204, response.text
    body = {name.lower(): value for name, (_, _, value) in columns.items()}
    account_id = created_id(dataverse_session.post(api + "accounts", json={"name": "Typed", **body}))
    row = dataverse_session.get(api + f"accounts({account_id})?$select={','.join(body)}").json()
    assert {k: row[k] for k in body} == body
    duplicate = dataverse_session.post(
        api + "EntityDefinitions(LogicalName='account')/Attributes",
        json={"@odata.type": CRM + "StringAttributeMetadata", "SchemaName": "xc_Text"},
    )
    assert duplicate.status_code == 400


def test_people_without_customisation_rights_get_403(dataverse_sandbox: RunningDataverse, api: str) -> None:
    person = {"Authorization": f"Bearer {SANDBOX_PERSON_TOKEN}"}
    response = requests.post(api + "EntityDefinitions", json=CONNECTION_TABLE, headers=person, timeout=5)
    assert response.status_code == 403
    assert "missing prvCreateEntity privilege" in response.json()["error"]["message"]


def test_new_tables_get_message_filters_and_fire_webhooks(
    dataverse_sandbox: RunningDataverse, dataverse_session: requests.Session, api: str, receiver: Receiver
) -> None:
    provision(dataverse_session, api)
    register(dataverse_session, api, receiver.url, "Create", "xc_connection")
    created_id(dataverse_session.post(api + "xc_connections", json={"xc_name": "Demo Company"}))
    assert dataverse_sandbox.wait_for_webhooks(timeout=20)
    assert [c.header("x-ms-dynamics-entity-name") for c in receiver.calls] == ["xc_connection"]
