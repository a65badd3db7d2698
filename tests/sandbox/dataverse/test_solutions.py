"""Publishers, solutions and solution components: prefixes checked against the named solution, components recorded."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from sandbox.dataverse.seed import DEFAULT_PUBLISHER_ID, DEFAULT_SOLUTION_ID, SANDBOX_PERSON_TOKEN
from tests.sandbox.dataverse.helpers import created_id

CRM = "Microsoft.Dynamics.CRM."
IN_SOLUTION = {"MSCRM.SolutionUniqueName": "XeroConnector"}
PERSON = {"Authorization": f"Bearer {SANDBOX_PERSON_TOKEN}"}
ENTITY, ATTRIBUTE, RELATIONSHIP = 1, 2, 10


def label(text: str) -> dict[str, Any]:
    return {"LocalizedLabels": [{"Label": text, "LanguageCode": 1033}]}


def table_body(schema_name: str, primary: str) -> dict[str, Any]:
    return {
        "@odata.type": CRM + "EntityMetadata",
        "SchemaName": schema_name,
        "DisplayName": label(schema_name),
        "DisplayCollectionName": label(schema_name + "s"),
        "OwnershipType": "OrganizationOwned",
        "Attributes": [
            {
                "@odata.type": CRM + "StringAttributeMetadata",
                "SchemaName": primary,
                "IsPrimaryName": True,
                "MaxLength": 100,
                "DisplayName": label("Name"),
            }
        ],
    }


def column_body(schema_name: str) -> dict[str, Any]:
    return {
        "@odata.type": CRM + "StringAttributeMetadata",
        "SchemaName": schema_name,
        "MaxLength": 50,
        "DisplayName": label(schema_name),
    }


def lookup_body(relationship: str, lookup: str) -> dict[str, Any]:
    return {
        "@odata.type": CRM + "OneToManyRelationshipMetadata",
        "SchemaName": relationship,
        "ReferencedEntity": "xc_connection",
        "ReferencingEntity": "invoice",
        "Lookup": {"@odata.type": CRM + "LookupAttributeMetadata", "SchemaName": lookup, "DisplayName": label("C")},
    }


def make_solution(session: requests.Session, api: str, prefix: str = "xc") -> tuple[str, str]:
    publisher = created_id(
        session.post(
            api + "publishers",
            json={
                "uniquename": "xeroconnector",
                "friendlyname": "Xero connector",
                "customizationprefix": prefix,
                "customizationoptionvalueprefix": 10000,
            },
        )
    )
    solution = created_id(
        session.post(
            api + "solutions",
            json={
                "uniquename": "XeroConnector",
                "friendlyname": "Xero connector",
                "version": "1.0.0.0",
                "publisherid@odata.bind": f"/publishers({publisher})",
            },
        )
    )
    return publisher, solution


def components(session: requests.Session, api: str, solution_id: str) -> list[dict[str, Any]]:
    response = session.get(
        api + "solutioncomponents",
        params={
            "$filter": f"_solutionid_value eq {solution_id}",
            "$select": "objectid,componenttype,rootcomponentbehavior,rootsolutioncomponentid",
        },
    )
    assert response.status_code == 200, response.text
    return list(response.json()["value"])


def metadata_id(session: requests.Session, api: str, path: str) -> str:
    response = session.get(api + path, params={"$select": "MetadataId"})
    assert response.status_code == 200, response.text
    return str(response.json()["MetadataId"])


@pytest.fixture
def solution(dataverse_session: requests.Session, api: str) -> str:
    return make_solution(dataverse_session, api)[1]


def test_seeded_default_publisher_and_solution(dataverse_session: requests.Session, api: str) -> None:
    publishers = dataverse_session.get(api + "publishers", params={"$filter": "customizationprefix eq 'new'"})
    assert publishers.status_code == 200
    [publisher] = publishers.json()["value"]
    assert publisher["publisherid"] == DEFAULT_PUBLISHER_ID
    assert publisher["friendlyname"] == "Default Publisher for sandbox"
    assert publisher["customizationoptionvalueprefix"] == 10000
    default = dataverse_session.get(api + f"solutions({DEFAULT_SOLUTION_ID})").json()
    assert (default["uniquename"], default["ismanaged"], default["_publisherid_value"]) == (
        "Default",
        False,
        DEFAULT_PUBLISHER_ID,
    )
    # The Default solution lists every component already there, system tables included.
    account = metadata_id(dataverse_session, api, "EntityDefinitions(LogicalName='account')")
    assert {"objectid": account, "componenttype": ENTITY} in [
        {k: c[k] for k in ("objectid", "componenttype")}
        for c in components(dataverse_session, api, DEFAULT_SOLUTION_ID)
    ]


def test_the_salesperson_reads_but_cannot_write_solution_tables(dataverse_session: requests.Session, api: str) -> None:
    for entity_set in ("publishers", "solutions", "solutioncomponents"):
        read = requests.get(api + entity_set, params={"$top": "1"}, headers=PERSON, timeout=5)
        assert read.status_code == 200, entity_set
        assert len(read.json()["value"]) == 1
    created = requests.post(
        api + "publishers",
        headers=PERSON,
        timeout=5,
        json={
            "uniquename": "mine",
            "friendlyname": "Mine",
            "customizationprefix": "mine",
            "customizationoptionvalueprefix": 20000,
        },
    )
    assert created.status_code == 403
    assert "prvCreatePublisher" in created.json()["error"]["message"]
    renamed = requests.patch(
        api + f"solutions({DEFAULT_SOLUTION_ID})",
        json={"friendlyname": "x"},
        headers={**PERSON, "If-Match": "*"},
        timeout=5,
    )
    assert renamed.status_code == 403


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        ({"customizationprefix": "mscrmx"}, "not start with 'mscrm'"),
        ({"customizationprefix": "toolongprefix"}, "maximum allowed length of '8'"),
        ({"customizationprefix": "x"}, "2 to 8 letters or digits"),
        ({"customizationprefix": "x-y"}, "2 to 8 letters or digits"),
        ({"customizationoptionvalueprefix": 9999}, "between 10000 and 99999"),
        ({"uniquename": "has space"}, "letters, digits and underscores"),
    ],
)
def test_a_publisher_is_validated(
    dataverse_session: requests.Session, api: str, change: dict[str, Any], complaint: str
) -> None:
    body = {
        "uniquename": "contoso",
        "friendlyname": "Contoso",
        "customizationprefix": "cts",
        "customizationoptionvalueprefix": 28100,
        **change,
    }
    response = dataverse_session.post(api + "publishers", json=body)
    assert response.status_code == 400
    assert complaint in response.json()["error"]["message"]


def test_unique_names_are_unique_and_a_solution_needs_a_publisher_and_a_version(
    dataverse_session: requests.Session, api: str, solution: str
) -> None:
    again = dataverse_session.post(
        api + "publishers",
        json={
            "uniquename": "XeroConnector",
            "friendlyname": "Again",
            "customizationprefix": "xc",
            "customizationoptionvalueprefix": 10000,
        },
    )
    assert again.status_code == 412
    assert "already exists" in again.json()["error"]["message"]
    base = {
        "uniquename": "Second",
        "friendlyname": "Second",
        "version": "1.0",
        "publisherid@odata.bind": f"/publishers({DEFAULT_PUBLISHER_ID})",
    }
    assert dataverse_session.post(api + "solutions", json={**base, "uniquename": "xeroconnector"}).status_code == 412
    no_publisher = dataverse_session.post(api + "solutions", json={k: v for k, v in base.items() if "@" not in k})
    assert no_publisher.status_code == 400
    assert "publisherid" in no_publisher.json()["error"]["message"]
    bad_version = dataverse_session.post(api + "solutions", json={**base, "version": "one"})
    assert bad_version.status_code == 400
    # ismanaged is not valid for create: a solution made through the API is unmanaged.
    made = dataverse_session.post(
        api + "solutions", json={**base, "ismanaged": True}, headers={"Prefer": "return=representation"}
    )
    assert made.status_code == 201 and made.json()["ismanaged"] is False


def test_a_table_created_in_a_solution_is_recorded_with_its_columns(
    dataverse_session: requests.Session, api: str, solution: str
) -> None:
    created = dataverse_session.post(
        api + "EntityDefinitions", json=table_body("xc_Connection", "xc_Name"), headers=IN_SOLUTION
    )
    assert created.status_code == 204, created.text
    table_id = metadata_id(dataverse_session, api, "EntityDefinitions(LogicalName='xc_connection')")
    name_id = metadata_id(
        dataverse_session, api, "EntityDefinitions(LogicalName='xc_connection')/Attributes(LogicalName='xc_name')"
    )
    mine = components(dataverse_session, api, solution)
    [root] = [c for c in mine if c["componenttype"] == ENTITY]
    assert (root["objectid"], root["rootcomponentbehavior"]) == (table_id, 0)
    name_row = next(c for c in mine if c["objectid"] == name_id)
    assert name_row["componenttype"] == ATTRIBUTE
    default_ids = {c["objectid"] for c in components(dataverse_session, api, DEFAULT_SOLUTION_ID)}
    assert {table_id, name_id} <= default_ids


def test_columns_and_lookups_created_in_a_solution_are_recorded(
    dataverse_session: requests.Session, api: str, solution: str
) -> None:
    assert (
        dataverse_session.post(
            api + "EntityDefinitions", json=table_body("xc_Connection", "xc_Name"), headers=IN_SOLUTION
        ).status_code
        == 204
    )
    column = dataverse_session.post(
        api + "EntityDefinitions(LogicalName='invoice')/Attributes",
        json=column_body("xc_XeroNumber"),
        headers=IN_SOLUTION,
    )
    assert column.status_code == 204, column.text
    lookup = dataverse_session.post(
        api + "RelationshipDefinitions",
        json=lookup_body("xc_connection_invoice", "xc_ConnectionId"),
        headers=IN_SOLUTION,
    )
    assert lookup.status_code == 204, lookup.text
    number_id = metadata_id(
        dataverse_session, api, "EntityDefinitions(LogicalName='invoice')/Attributes(LogicalName='xc_xeronumber')"
    )
    lookup_id = metadata_id(
        dataverse_session, api, "EntityDefinitions(LogicalName='invoice')/Attributes(LogicalName='xc_connectionid')"
    )
    relationship_id = metadata_id(dataverse_session, api, "RelationshipDefinitions(SchemaName='xc_connection_invoice')")
    recorded = {(c["objectid"], c["componenttype"]) for c in components(dataverse_session, api, solution)}
    assert {(number_id, ATTRIBUTE), (lookup_id, ATTRIBUTE), (relationship_id, RELATIONSHIP)} <= recorded
    invoice_table = metadata_id(dataverse_session, api, "EntityDefinitions(LogicalName='invoice')")
    assert (invoice_table, ENTITY) not in recorded  # only what was created went in


@pytest.mark.parametrize(
    ("path", "body", "what"),
    [
        ("EntityDefinitions", table_body("new_Connection", "new_Name"), "entity"),
        ("EntityDefinitions", table_body("xc_Connection", "new_Name"), "attribute"),
        ("EntityDefinitions(LogicalName='invoice')/Attributes", column_body("new_XeroNumber"), "attribute"),
        ("RelationshipDefinitions", lookup_body("new_connection_invoice", "xc_ConnectionId"), "relationship"),
        ("RelationshipDefinitions", lookup_body("xc_connection_invoice", "new_ConnectionId"), "lookup attribute"),
    ],
)
def test_a_name_without_the_solution_publishers_prefix_is_refused(
    dataverse_session: requests.Session, api: str, solution: str, path: str, body: dict[str, Any], what: str
) -> None:
    if path == "RelationshipDefinitions":
        assert (
            dataverse_session.post(
                api + "EntityDefinitions", json=table_body("xc_Connection", "xc_Name"), headers=IN_SOLUTION
            ).status_code
            == 204
        )
    before = len(components(dataverse_session, api, solution))
    refused = dataverse_session.post(api + path, json=body, headers=IN_SOLUTION)
    assert refused.status_code == 400
    message = refused.json()["error"]["message"]
    assert f"The {what} SchemaName" in message and "'xc_'" in message and "'XeroConnector'" in message
    assert len(components(dataverse_session, api, solution)) == before
    schema = dataverse_session.get(api + "EntityDefinitions", params={"$select": "LogicalName"}).json()["value"]
    assert "new_connection" not in {t["LogicalName"] for t in schema}
    invoice = dataverse_session.get(
        api + "EntityDefinitions(LogicalName='invoice')/Attributes", params={"$select": "LogicalName"}
    ).json()["value"]
    assert not {"new_xeronumber", "new_connectionid", "xc_connectionid"} & {a["LogicalName"] for a in invoice}


def test_the_prefix_check_ignores_case_and_the_default_solution_uses_new(
    dataverse_session: requests.Session, api: str, solution: str
) -> None:
    upper = dataverse_session.post(
        api + "EntityDefinitions(LogicalName='invoice')/Attributes", json=column_body("XC_Upper"), headers=IN_SOLUTION
    )
    assert upper.status_code == 204, upper.text
    in_default = {"MSCRM.SolutionUniqueName": "Default"}
    path = "EntityDefinitions(LogicalName='account')/Attributes"
    assert dataverse_session.post(api + path, json=column_body("xc_Other"), headers=in_default).status_code == 400
    assert dataverse_session.post(api + path, json=column_body("new_Other"), headers=in_default).status_code == 204


def test_without_the_header_any_prefix_goes_to_the_default_solution_only(
    dataverse_session: requests.Session, api: str, solution: str
) -> None:
    created = dataverse_session.post(
        api + "EntityDefinitions(LogicalName='account')/Attributes", json=column_body("abc_Note")
    )
    assert created.status_code == 204, created.text
    note = metadata_id(
        dataverse_session, api, "EntityDefinitions(LogicalName='account')/Attributes(LogicalName='abc_note')"
    )
    assert note in {c["objectid"] for c in components(dataverse_session, api, DEFAULT_SOLUTION_ID)}
    assert components(dataverse_session, api, solution) == []


def test_an_unknown_solution_is_refused(dataverse_session: requests.Session, api: str) -> None:
    missing = {"MSCRM.SolutionUniqueName": "NoSuchSolution"}
    created = dataverse_session.post(
        api + "EntityDefinitions", json=table_body("new_Thing", "new_Name"), headers=missing
    )
    assert created.status_code == 404
    assert "NoSuchSolution" in created.json()["error"]["message"]
    assert dataverse_session.get(api + "EntityDefinitions(LogicalName='new_thing')").status_code == 404
    option = dataverse_session.post(
        api + "InsertOptionValue",
        json={
            "EntityLogicalName": "invoice",
            "AttributeLogicalName": "paymenttermscode",
            "Value": 100000000,
            "Label": label("Net 90"),
            "SolutionUniqueName": "NoSuchSolution",
        },
    )
    assert option.status_code == 404


def test_add_solution_component(dataverse_session: requests.Session, api: str, solution: str) -> None:
    account = metadata_id(dataverse_session, api, "EntityDefinitions(LogicalName='account')")
    body = {
        "ComponentId": account,
        "ComponentType": ENTITY,
        "SolutionUniqueName": "XeroConnector",
        "AddRequiredComponents": False,
        "DoNotIncludeSubcomponents": True,
    }
    first = dataverse_session.post(api + "AddSolutionComponent", json=body)
    assert first.status_code == 200, first.text
    again = dataverse_session.post(api + "AddSolutionComponent", json=body)
    assert again.json()["id"] == first.json()["id"]
    [row] = components(dataverse_session, api, solution)
    assert (row["objectid"], row["componenttype"], row["rootcomponentbehavior"]) == (account, ENTITY, 1)

    unknown = dataverse_session.post(
        api + "AddSolutionComponent", json={**body, "ComponentId": "00000000-0000-4000-8000-000000000000"}
    )
    assert unknown.status_code == 404
    no_flag = dataverse_session.post(
        api + "AddSolutionComponent", json={k: v for k, v in body.items() if k != "AddRequiredComponents"}
    )
    assert no_flag.status_code == 400
    person = requests.post(api + "AddSolutionComponent", json=body, headers=PERSON, timeout=5)
    assert person.status_code == 403


def test_components_are_written_by_the_platform_only(
    dataverse_session: requests.Session, api: str, solution: str
) -> None:
    refused = dataverse_session.post(api + "solutioncomponents", json={"objectid": DEFAULT_SOLUTION_ID})
    assert refused.status_code == 400
    assert "does not support entities of type 'solutioncomponent'" in refused.json()["error"]["message"]
    some = components(dataverse_session, api, DEFAULT_SOLUTION_ID)[0]
    row_id = dataverse_session.get(
        api + "solutioncomponents",
        params={"$filter": f"objectid eq {some['objectid']}", "$select": "solutioncomponentid"},
    ).json()["value"][0]
    deleted = dataverse_session.delete(api + f"solutioncomponents({row_id['solutioncomponentid']})")
    assert deleted.status_code == 400


def test_deleting_solutions_and_publishers(dataverse_session: requests.Session, api: str) -> None:
    publisher, solution = make_solution(dataverse_session, api)
    assert (
        dataverse_session.post(
            api + "EntityDefinitions", json=table_body("xc_Connection", "xc_Name"), headers=IN_SOLUTION
        ).status_code
        == 204
    )
    assert dataverse_session.delete(api + f"solutions({DEFAULT_SOLUTION_ID})").status_code == 400
    assert dataverse_session.delete(api + f"publishers({DEFAULT_PUBLISHER_ID})").status_code == 400
    assert dataverse_session.delete(api + f"publishers({publisher})").status_code == 400  # it still has a solution
    assert dataverse_session.delete(api + f"solutions({solution})").status_code == 204
    # Deleting an unmanaged solution removes the container, not the table.
    assert components(dataverse_session, api, solution) == []
    assert dataverse_session.get(api + "EntityDefinitions(LogicalName='xc_connection')").status_code == 200
    assert dataverse_session.delete(api + f"publishers({publisher})").status_code == 204


def test_reset_forgets_custom_publishers_and_components(
    dataverse_sandbox: Any, dataverse_session: requests.Session, api: str, solution: str
) -> None:
    assert (
        dataverse_session.post(
            api + "EntityDefinitions", json=table_body("xc_Connection", "xc_Name"), headers=IN_SOLUTION
        ).status_code
        == 204
    )
    assert requests.post(dataverse_sandbox.url + "/_sandbox/reset", timeout=5).status_code == 200
    names = [p["uniquename"] for p in dataverse_session.get(api + "publishers").json()["value"]]
    assert names == ["DefaultPublishersandbox"]
    solutions = dataverse_session.get(api + "solutions", params={"$select": "uniquename"}).json()["value"]
    assert [s["uniquename"] for s in solutions] == ["Default"]
