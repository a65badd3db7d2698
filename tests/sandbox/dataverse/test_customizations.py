"""Forms, views, site maps, roles and publishing in the sandbox Dataverse: what it refuses, and why."""

from __future__ import annotations

import pytest
import requests

from sandbox.dataverse.seed import BUSINESS_UNIT_ID, SANDBOX_PERSON_TOKEN
from tests.sandbox.dataverse.helpers import created_id

TEXT = "{4273EDBD-AC1D-40d3-9FB2-095C621B552D}"
SUBGRID = "{E7A81278-8635-4d9e-8D4D-59480B391C5B}"
INVOICE_LINES_VIEW = "5c0e0a5e-0000-4000-8000-00000000f001"


def form_body(controls: str, table: str = "invoice") -> dict:
    return {
        "name": "Probe",
        "objecttypecode": table,
        "type": 2,
        "formxml": f'<form><tabs><tab name="t"><columns><column><sections><section name="s"><rows>{controls}'
        "</rows></section></sections></column></columns></tab></tabs></form>",
    }


def field(name: str) -> str:
    return f'<row><cell><control id="{name}" classid="{TEXT}" datafieldname="{name}"/></cell></row>'


def subgrid(relationship: str, view_id: str, target: str = "invoicedetail") -> str:
    return (
        f'<row><cell><control id="lines" classid="{SUBGRID}"><parameters><TargetEntityType>{target}'
        f"</TargetEntityType><RelationshipName>{relationship}</RelationshipName><ViewId>{{{view_id}}}</ViewId>"
        "</parameters></control></cell></row>"
    )


def view_body(fetch_conditions: str = "", cells: str = '<cell name="productdescription"/>') -> dict:
    return {
        "savedqueryid": INVOICE_LINES_VIEW,
        "name": "Lines",
        "returnedtypecode": "invoicedetail",
        "querytype": 2,
        "fetchxml": '<fetch><entity name="invoicedetail"><attribute name="invoicedetailid"/>'
        f'<attribute name="productdescription"/><attribute name="producttypecode"/>{fetch_conditions}</entity></fetch>',
        "layoutxml": f'<grid name="resultset" object="1091"><row name="result" id="invoicedetailid">{cells}</row>'
        "</grid>",
    }


def error_of(response: requests.Response) -> str:
    assert response.status_code == 400, response.text
    return str(response.json()["error"]["message"])


def test_a_form_naming_an_unknown_column_is_refused(api: str, dataverse_session: requests.Session) -> None:
    assert created_id(dataverse_session.post(api + "systemforms", json=form_body(field("name"))))
    message = error_of(dataverse_session.post(api + "systemforms", json=form_body(field("xc_nosuchcolumn"))))
    assert "xc_nosuchcolumn" in message and "invoice" in message


def test_a_subgrid_needs_a_relationship_of_the_form_and_a_view_of_its_table(
    api: str, dataverse_session: requests.Session
) -> None:
    message = error_of(
        dataverse_session.post(api + "systemforms", json=form_body(subgrid("invoice_details", INVOICE_LINES_VIEW)))
    )
    assert "is not a view of invoicedetail" in message
    assert created_id(dataverse_session.post(api + "savedqueries", json=view_body()))
    assert created_id(
        dataverse_session.post(api + "systemforms", json=form_body(subgrid("invoice_details", INVOICE_LINES_VIEW)))
    )
    wrong = form_body(subgrid("product_invoice_details", INVOICE_LINES_VIEW))
    assert "does not relate invoice to invoicedetail" in error_of(
        dataverse_session.post(api + "systemforms", json=wrong)
    )


@pytest.mark.parametrize(
    ("conditions", "cells", "expected"),
    [
        ('<filter><condition attribute="producttypecode" operator="eq" value="9"/></filter>', None, "not an option"),
        ('<filter><condition attribute="nosuch" operator="eq" value="1"/></filter>', None, "'nosuch'"),
        ('<filter><condition attribute="quantity" operator="this-week"/></filter>', None, "needs a date column"),
        ('<filter><condition attribute="quantity" operator="almost"/></filter>', None, "not valid"),
        ("", '<cell name="quantity"/>', "does not fetch"),
    ],
)
def test_a_view_is_checked_against_the_schema(
    api: str, dataverse_session: requests.Session, conditions: str, cells: str | None, expected: str
) -> None:
    body = view_body(conditions) if cells is None else view_body(conditions, cells)
    assert expected in error_of(dataverse_session.post(api + "savedqueries", json=body))


def test_site_maps_name_existing_tables_and_publishing_names_existing_entities(
    api: str, dataverse_session: requests.Session
) -> None:
    site_map = '<SiteMap><Area Id="a"><Group Id="g"><SubArea Id="s" Entity="{0}"/></Group></Area></SiteMap>'
    bad = {"sitemapname": "x", "sitemapxml": site_map.format("xc_nosuchtable")}
    assert "xc_nosuchtable" in error_of(dataverse_session.post(api + "sitemaps", json=bad))
    assert created_id(dataverse_session.post(api + "sitemaps", json={**bad, "sitemapxml": site_map.format("invoice")}))

    publish = "<importexportxml><entities><entity>{0}</entity></entities></importexportxml>"
    nosuch = dataverse_session.post(api + "PublishXml", json={"ParameterXml": publish.format("xc_nosuchtable")})
    assert "xc_nosuchtable" in error_of(nosuch)
    assert "not well-formed" in error_of(dataverse_session.post(api + "PublishXml", json={"ParameterXml": "<oops"}))
    ok = dataverse_session.post(api + "PublishXml", json={"ParameterXml": publish.format("invoice")})
    assert ok.status_code == 204


def test_roles_get_existing_privileges_at_depths_they_allow(api: str, dataverse_session: requests.Session) -> None:
    role_id = created_id(
        dataverse_session.post(
            api + "roles", json={"name": "Probe", "businessunitid@odata.bind": f"/businessunits({BUSINESS_UNIT_ID})"}
        )
    )
    [read] = dataverse_session.get(api + "privileges", params={"$filter": "name eq 'prvReadInvoice'"}).json()["value"]
    action = api + f"roles({role_id})/Microsoft.Dynamics.CRM.AddPrivilegesRole"

    def grant(depth: str, privilege_id: str = read["privilegeid"]) -> requests.Response:
        body = {"Privileges": [{"Depth": depth, "PrivilegeId": privilege_id, "BusinessUnitId": BUSINESS_UNIT_ID}]}
        return dataverse_session.post(action, json=body)

    assert "Depth must be one of" in error_of(grant("Everywhere"))
    assert grant("Basic", "5c0e0a5e-0000-4000-8000-00000000dead").status_code == 404
    assert grant("Local").status_code == 204
    held = dataverse_session.get(api + f"RetrieveRolePrivilegesRole(RoleId={role_id})").json()["RolePrivileges"]
    assert [(p["PrivilegeName"], p["Depth"]) for p in held] == [("prvReadInvoice", "Local")]
    person = {"Authorization": f"Bearer {SANDBOX_PERSON_TOKEN}"}
    assert requests.post(action, json={"Privileges": []}, headers=person, timeout=10).status_code == 403


def test_the_record_page_shows_the_form_as_last_published(
    dataverse_sandbox, api: str, dataverse_session: requests.Session, invoice_id: str
) -> None:
    page = f"{dataverse_sandbox.url}/_sandbox/records/invoice/{invoice_id}"
    assert 'data-field="name">Website build<' in requests.get(page, timeout=10).text
    [form] = dataverse_session.get(
        api + "systemforms", params={"$filter": "objecttypecode eq 'invoice' and type eq 2"}
    ).json()["value"]
    with_description = form["formxml"].replace("</rows>", field("description") + "</rows>", 1)
    patched = dataverse_session.patch(
        api + f"systemforms({form['formid']})", json={"formxml": with_description}, headers={"If-Match": "*"}
    )
    assert patched.status_code == 204, patched.text
    assert 'data-field="description"' not in requests.get(page, timeout=10).text, "not published yet"
    publish = "<importexportxml><entities><entity>invoice</entity></entities></importexportxml>"
    assert dataverse_session.post(api + "PublishXml", json={"ParameterXml": publish}).status_code == 204
    assert 'data-field="description"' in requests.get(page, timeout=10).text
    assert requests.get(f"{dataverse_sandbox.url}/_sandbox/records/invoice/not-a-guid", timeout=10).status_code == 400


@pytest.mark.parametrize(
    ("action", "body"),
    [
        ("PublishXml", ["not", "an", "object"]),
        ("AddAppComponents", {"AppId": "5c0e0a5e-0000-4000-8000-00000000f00d", "Components": [1]}),
        ("ImportSolutionAsync", {"CustomizationFile": "%%%", "OverwriteUnmanagedCustomizations": False}),
    ],
)
def test_malformed_action_bodies_are_a_clear_4xx(api: str, dataverse_session: requests.Session, action, body) -> None:
    response = dataverse_session.post(api + action, json=body)
    assert 400 <= response.status_code < 500, response.text
    assert response.json()["error"]["message"]
