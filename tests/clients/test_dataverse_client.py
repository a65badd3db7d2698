"""DataverseClient against the sandbox Dataverse over HTTP: reads, paging, expand, writes and typed errors."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
import requests

from app.clients.dataverse import (
    AccessDenied,
    Conflict,
    DataverseClient,
    DataverseRejected,
    RowNotFound,
    StaticTokenSource,
    odata_literal,
)
from app.errors import Permanent, Retryable
from sandbox.dataverse.seed import (
    ACCOUNT_IDS,
    CONNECTOR_USER_ID,
    CONTACT_IDS,
    ORGANIZATION_ID,
    PRICE_LIST_ID,
    PRODUCT_IDS,
    SANDBOX_CONNECTOR_TOKEN,
    SANDBOX_PERSON_TOKEN,
)
from sandbox.dataverse.server import RunningDataverse
from tests.clients.conftest import MISSING_ID


def test_whoami_names_the_connector_user(client: DataverseClient, calls: list[requests.PreparedRequest]) -> None:
    me = client.whoami()
    assert me.user_id == CONNECTOR_USER_ID
    assert me.organization_id == ORGANIZATION_ID
    sent = calls[0].headers
    assert sent["OData-Version"] == "4.0" and sent["OData-MaxVersion"] == "4.0"
    assert sent["Accept"] == "application/json"
    assert sent["Authorization"] == f"Bearer {SANDBOX_CONNECTOR_TOKEN}"


def test_base_url_may_be_the_web_api_root(dataverse_sandbox: RunningDataverse) -> None:
    with DataverseClient(dataverse_sandbox.api_url, StaticTokenSource(SANDBOX_CONNECTOR_TOKEN)) as client:
        assert client.api_url == dataverse_sandbox.api_url
        assert client.get("accounts", ACCOUNT_IDS[0], select="name")["name"] == "Contoso Ltd"


def test_get_selects_columns(client: DataverseClient) -> None:
    row = client.get("accounts", ACCOUNT_IDS[1].upper(), select=["name", "accountnumber"])
    assert row["name"] == "Fabrikam Inc"
    assert row["accountnumber"] == "FAB-002"
    assert "emailaddress1" not in row


def test_get_with_formatted_values(client: DataverseClient) -> None:
    row = client.get("products", PRODUCT_IDS[0], select=["price"], formatted_values=True)
    assert row["price"] == 12.5
    assert row["price@OData.Community.Display.V1.FormattedValue"] == "£12.50"


def test_missing_row_is_row_not_found_or_none(client: DataverseClient) -> None:
    with pytest.raises(RowNotFound) as caught:
        client.get("accounts", MISSING_ID)
    assert isinstance(caught.value, Permanent)
    assert caught.value.entity_set == "accounts" and caught.value.row_id == MISSING_ID
    assert caught.value.status == 404
    assert "Does Not Exist" in str(caught.value)
    assert "deleted" in caught.value.user_message
    assert client.get_optional("accounts", MISSING_ID) is None
    assert client.get_optional("accounts", ACCOUNT_IDS[0], select="name") == {
        **client.get("accounts", ACCOUNT_IDS[0], select="name")
    }


def test_a_row_id_that_is_not_a_guid_never_reaches_the_url(
    client: DataverseClient, calls: list[requests.PreparedRequest]
) -> None:
    with pytest.raises(Permanent, match="not a Dataverse row id"):
        client.get("accounts", "x)/../systemusers(")
    assert calls == []


def test_query_follows_next_link_across_pages(client: DataverseClient, calls: list[requests.PreparedRequest]) -> None:
    rows = client.query("accounts", select="name", orderby="name", page_size=2)
    assert [row["name"] for row in rows] == ["Contoso Ltd", "Fabrikam Inc", "Northwind Traders"]
    assert len(calls) == 2
    assert calls[0].headers["Prefer"] == "odata.maxpagesize=2"
    assert "skiptoken=2" in (calls[1].url or "")


def test_query_filter_top_and_literal_quoting(client: DataverseClient) -> None:
    created = client.create("accounts", {"name": "O'Brien & Sons"})
    found = client.query("accounts", filter="name eq " + odata_literal("O'Brien & Sons"), select=["name"])
    assert [row["accountid"] for row in found] == [created]
    top = client.query("products", filter="price gt 12.5", orderby=["price desc"], top=1, select="name")
    assert [row["name"] for row in top] == ["Consulting hour"]


def test_expand_lookup_and_lines(client: DataverseClient) -> None:
    invoice_id = client.create(
        "invoices",
        {
            "name": "Website build",
            "customerid_account@odata.bind": f"/accounts({ACCOUNT_IDS[0]})",
            "pricelevelid@odata.bind": f"/pricelevels({PRICE_LIST_ID})",
        },
    )
    for product_id, quantity in ((PRODUCT_IDS[0], Decimal("2")), (PRODUCT_IDS[1], Decimal("1.5"))):
        client.create(
            "invoicedetails",
            {
                "invoiceid@odata.bind": f"/invoices({invoice_id})",
                "productid@odata.bind": f"/products({product_id})",
                "quantity": quantity,
            },
        )
    row = client.get(
        "invoices",
        invoice_id,
        select="name",
        expand=["customerid_account($select=name)", "invoice_details($select=quantity;$orderby=quantity)"],
    )
    assert row["customerid_account"]["name"] == "Contoso Ltd"
    assert [line["quantity"] for line in row["invoice_details"]] == [1.5, 2.0]
    listed = client.query(
        "contacts", filter=f"contactid eq {CONTACT_IDS[0]}", expand="parentcustomerid_account($select=name)"
    )
    assert listed[0]["parentcustomerid_account"]["name"] == "Contoso Ltd"


def test_create_update_upsert_delete_round_trip(client: DataverseClient) -> None:
    account_id = client.create("accounts", {"name": "Round Trip Ltd", "accountnumber": "RT-1"})
    assert client.get("accounts", account_id, select="name")["name"] == "Round Trip Ltd"
    client.update("accounts", account_id, {"name": "Round Trip plc"})
    assert client.get("accounts", account_id, select="name")["name"] == "Round Trip plc"

    upserted = "5c0e0a5e-0000-4000-8000-0000000abc01"
    client.upsert("accounts", upserted, {"name": "Made by upsert"})
    client.upsert("accounts", upserted, {"accountnumber": "UP-1"})
    row = client.get("accounts", upserted, select=["name", "accountnumber"])
    assert (row["name"], row["accountnumber"]) == ("Made by upsert", "UP-1")

    assert client.delete("accounts", account_id) is True
    assert client.get_optional("accounts", account_id) is None
    assert client.delete("accounts", account_id, missing_ok=True) is False
    with pytest.raises(RowNotFound):
        client.delete("accounts", account_id)


def test_create_can_return_the_row(client: DataverseClient) -> None:
    row = client.create(
        "accounts",
        {"name": "Shown Ltd", "accountnumber": "SH-1"},
        return_representation=True,
        select=["name", "accountnumber"],
    )
    assert row["name"] == "Shown Ltd" and row["accountnumber"] == "SH-1"
    assert client.get("accounts", row["accountid"], select="name")["name"] == "Shown Ltd"


def test_update_never_creates_a_row(client: DataverseClient) -> None:
    with pytest.raises(RowNotFound) as caught:
        client.update("accounts", MISSING_ID, {"name": "Ghost"})
    assert caught.value.row_id == MISSING_ID
    assert client.get_optional("accounts", MISSING_ID) is None


def test_stale_etag_is_a_retryable_conflict(client: DataverseClient) -> None:
    etag = client.get("accounts", ACCOUNT_IDS[2], select="name")["@odata.etag"]
    client.update("accounts", ACCOUNT_IDS[2], {"name": "Northwind Traders Ltd"}, etag=etag)
    with pytest.raises(Conflict) as caught:
        client.update("accounts", ACCOUNT_IDS[2], {"name": "Lost update"}, etag=etag)
    assert isinstance(caught.value, Retryable)
    assert caught.value.status == 412
    assert client.get("accounts", ACCOUNT_IDS[2], select="name")["name"] == "Northwind Traders Ltd"


def test_bad_request_is_permanent_with_dataverses_message(client: DataverseClient) -> None:
    with pytest.raises(DataverseRejected) as caught:
        client.create("accounts", {"name": "Broken", "nosuchcolumn": 1})
    error = caught.value
    assert error.status == 400
    assert error.dataverse_message.startswith("The property 'nosuchcolumn' does not exist")
    assert "POST accounts" in str(error)
    assert error.user_message == f"Dynamics 365 refused the change: {error.dataverse_message}"


def test_wrong_token_is_permanent_and_never_shown(dataverse_sandbox: RunningDataverse) -> None:
    with (
        DataverseClient(dataverse_sandbox.url, StaticTokenSource("not-a-valid-token-xyz")) as client,
        pytest.raises(AccessDenied) as caught,
    ):
        client.whoami()
    error = caught.value
    assert error.status == 401
    assert "credentials" in str(error) and "sign-in" in error.user_message
    assert "not-a-valid-token-xyz" not in f"{error} {error.user_message} {error!r}"


def test_missing_privilege_is_named(dataverse_sandbox: RunningDataverse) -> None:
    with DataverseClient(dataverse_sandbox.url, StaticTokenSource(SANDBOX_PERSON_TOKEN)) as person:
        assert person.create("accounts", {"name": "Allowed"})  # ordinary tables are fine for this user
        with pytest.raises(AccessDenied) as caught:
            person.create("sdkmessageprocessingsteps", {"name": "not allowed"})
    error = caught.value
    assert error.status == 403
    assert error.privilege == "prvCreateSdkMessageProcessingStep"
    assert "prvCreateSdkMessageProcessingStep" in str(error)
    assert "prvCreateSdkMessageProcessingStep" in error.user_message
    assert SANDBOX_PERSON_TOKEN not in str(error)


def test_values_mappers_produce_are_sent_as_json(client: DataverseClient) -> None:
    invoice_id = client.create(
        "invoices",
        {
            "name": "Typed values",
            "customerid_account@odata.bind": f"/accounts({ACCOUNT_IDS[0]})",
            "pricelevelid@odata.bind": f"/pricelevels({PRICE_LIST_ID})",
            "duedate": date(2026, 12, 31),
            "discountamount": Decimal("10.25"),
        },
    )
    row = client.get("invoices", invoice_id, select=["duedate", "discountamount"])
    assert row["duedate"] == "2026-12-31"
    assert row["discountamount"] == 10.25


def test_links_to_another_host_are_refused(client: DataverseClient, calls: list[requests.PreparedRequest]) -> None:
    with pytest.raises(Permanent, match="another host"):
        client.request("GET", "http://198.51.100.7/api/data/v9.2/accounts")
    assert calls == []


def test_request_reaches_metadata_and_actions_too(client: DataverseClient) -> None:
    definition = client.request(
        "GET", "EntityDefinitions(LogicalName='account')", params={"$select": "LogicalName,EntitySetName"}
    ).json()
    assert (definition["LogicalName"], definition["EntitySetName"]) == ("account", "accounts")
    published = client.request(
        "POST",
        "PublishXml",
        json_body={"ParameterXml": "<importexportxml><entities><entity>account</entity></entities></importexportxml>"},
    )
    assert published.status_code == 204
