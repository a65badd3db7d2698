"""OData reads: $select, $filter, $expand, $orderby, $top, paging, $count, annotations and errors."""

from __future__ import annotations

import requests

from sandbox.dataverse.seed import ACCOUNT_IDS, CONTACT_IDS, GBP_CURRENCY_ID, PRODUCT_IDS


def names(response: requests.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [row["name"] for row in response.json()["value"]]


def test_select_returns_only_the_asked_columns_plus_key_and_etag(dataverse_session: requests.Session, api: str) -> None:
    row = dataverse_session.get(api + f"accounts({ACCOUNT_IDS[0]})?$select=name,_primarycontactid_value").json()
    assert set(row) == {"@odata.context", "@odata.etag", "name", "_primarycontactid_value", "accountid"}
    assert row["@odata.etag"].startswith('W/"')


def test_unknown_properties_are_400(dataverse_session: requests.Session, api: str) -> None:
    for query in (
        "$select=nosuchcolumn",
        "$filter=nosuchcolumn eq 1",
        "$select=primarycontactid",
        "$orderby=nosuchcolumn",
    ):
        response = dataverse_session.get(api + "accounts?" + query)
        assert response.status_code == 400, query
        assert response.json()["error"]["message"].startswith("Could not find a property named")


def test_filter_operators_and_literals(dataverse_session: requests.Session, api: str) -> None:
    def get(filter_text: str) -> list[str]:
        return names(dataverse_session.get(api + "products", params={"$filter": filter_text, "$orderby": "name"}))

    assert get("price gt 12.5") == ["Consulting hour", "Gadget"]
    assert get("price ge 12.5 and price lt 95") == ["Gadget", "Widget"]
    assert get("price le 12.5 or (productnumber eq 'SERVICE-HOUR' and statecode eq 0)") == ["Consulting hour", "Widget"]
    assert get("productnumber ne 'widget-001'") == ["Consulting hour", "Gadget"]  # case-insensitive, as SQL
    assert get("description eq null and price ne null") == ["Consulting hour", "Gadget", "Widget"]
    assert get(f"productid eq {PRODUCT_IDS[1].upper()}") == ["Gadget"]
    assert get(f"_transactioncurrencyid_value eq {GBP_CURRENCY_ID}") == ["Consulting hour", "Gadget", "Widget"]
    assert get("createdon gt 2000-01-01T00:00:00Z and createdon le 2999-01-01") == [
        "Consulting hour",
        "Gadget",
        "Widget",
    ]
    assert get("contains(name,'adg') or startswith(name,'cons')") == ["Consulting hour", "Gadget"]
    assert get("not (price gt 12.5)") == ["Widget"]


def test_malformed_filter_is_400(dataverse_session: requests.Session, api: str) -> None:
    response = dataverse_session.get(api + "accounts", params={"$filter": "name eq 'x' and"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "0x80060888"


def test_orderby_top_and_count(dataverse_session: requests.Session, api: str) -> None:
    response = dataverse_session.get(api + "accounts", params={"$orderby": "name desc", "$top": "2", "$count": "true"})
    assert names(response) == ["Northwind Traders", "Fabrikam Inc"]
    assert response.json()["@odata.count"] == 2


def test_paging_with_maxpagesize_and_next_link(dataverse_session: requests.Session, api: str) -> None:
    headers = {"Prefer": "odata.maxpagesize=2"}
    first = dataverse_session.get(api + "accounts?$select=name&$orderby=name", headers=headers)
    assert names(first) == ["Contoso Ltd", "Fabrikam Inc"]
    assert first.headers["Preference-Applied"] == "odata.maxpagesize=2"
    second = dataverse_session.get(first.json()["@odata.nextLink"], headers=headers)
    assert names(second) == ["Northwind Traders"]
    assert "@odata.nextLink" not in second.json()


def test_expand_lookup_and_collection(dataverse_session: requests.Session, api: str, invoice_id: str) -> None:
    row = dataverse_session.get(
        api + f"invoices({invoice_id})",
        params={
            "$select": "name",
            "$expand": "customerid_account($select=name,accountnumber),"
            "invoice_details($select=quantity,priceperunit;$orderby=quantity)",
        },
    ).json()
    assert row["customerid_account"]["name"] == "Contoso Ltd"
    assert set(row["customerid_account"]) == {"@odata.etag", "name", "accountnumber", "accountid"}
    assert [(line["quantity"], line["priceperunit"]) for line in row["invoice_details"]] == [(2.0, 12.5)]
    contact = dataverse_session.get(
        api + f"contacts({CONTACT_IDS[0]})?$expand=parentcustomerid_account($select=name)"
    ).json()
    assert contact["parentcustomerid_account"]["name"] == "Contoso Ltd"


def test_nested_expand_is_refused(dataverse_session: requests.Session, api: str, invoice_id: str) -> None:
    response = dataverse_session.get(
        api + f"invoices({invoice_id})", params={"$expand": "invoice_details($expand=productid)"}
    )
    assert response.status_code == 400


def test_formatted_values_and_lookup_annotations(
    dataverse_session: requests.Session, api: str, invoice_id: str
) -> None:
    row = dataverse_session.get(
        api + f"invoices({invoice_id})?$select=totalamount,statecode,duedate,_customerid_value",
        headers={"Prefer": 'odata.include-annotations="*"'},
    ).json()
    assert row["totalamount"] == 25.0
    assert row["totalamount@OData.Community.Display.V1.FormattedValue"] == "£25.00"
    assert row["statecode"] == 0
    assert row["statecode@OData.Community.Display.V1.FormattedValue"] == "Active"
    assert row["duedate"] == "2026-12-31"
    assert row["_customerid_value@Microsoft.Dynamics.CRM.lookuplogicalname"] == "account"
    assert row["_customerid_value@OData.Community.Display.V1.FormattedValue"] == "Contoso Ltd"
    plain = dataverse_session.get(api + f"invoices({invoice_id})?$select=totalamount").json()
    assert not [k for k in plain if "@OData.Community" in k]


def test_get_by_key_of_a_missing_row_is_404(dataverse_session: requests.Session, api: str) -> None:
    response = dataverse_session.get(api + "invoices(00000000-0000-0000-0000-0000000000aa)")
    assert response.status_code == 404
    error = response.json()["error"]
    assert error["code"] == "0x80040217"
    assert "Does Not Exist" in error["message"]


def test_skip_is_not_supported(dataverse_session: requests.Session, api: str) -> None:
    assert dataverse_session.get(api + "accounts?$skip=1").status_code == 400


def test_metadata_document_names_sets_and_navigation(dataverse_session: requests.Session, api: str) -> None:
    response = dataverse_session.get(api + "$metadata")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/xml")
    assert '<NavigationProperty Name="invoice_details" Type="Collection(mscrm.invoicedetail)" />' in response.text
    assert '<EntitySet Name="invoices" EntityType="Microsoft.Dynamics.CRM.invoice" />' in response.text
    assert '<EntitySet Name="opportunities"' not in response.text


def test_dataverse_query_functions(dataverse_session: requests.Session, api: str) -> None:
    def get(filter_text: str) -> list[str]:
        return names(dataverse_session.get(api + "products", params={"$filter": filter_text, "$orderby": "name"}))

    assert get(
        "Microsoft.Dynamics.CRM.In(PropertyName='productnumber',PropertyValues=['WIDGET-001','GADGET-002'])"
    ) == ["Gadget", "Widget"]
    assert get("Microsoft.Dynamics.CRM.NotIn(PropertyName='productnumber',PropertyValues=['WIDGET-001'])") == [
        "Consulting hour",
        "Gadget",
    ]
    assert get(
        "Microsoft.Dynamics.CRM.Null(PropertyName='description') and "
        "Microsoft.Dynamics.CRM.NotNull(PropertyName='price') and price gt 50"
    ) == ["Consulting hour"]
    bad = dataverse_session.get(
        api + "products", params={"$filter": "Microsoft.Dynamics.CRM.In(PropertyName='nosuch',PropertyValues=['x'])"}
    )
    assert bad.status_code == 400
