"""Tokens, WhoAmI, the entity sets on offer and Dataverse-shaped errors."""

from __future__ import annotations

import requests

from sandbox.dataverse.seed import (
    BUSINESS_UNIT_ID,
    CONNECTOR_USER_ID,
    ORGANIZATION_ID,
    PERSON_USER_ID,
    SANDBOX_PERSON_TOKEN,
)
from sandbox.dataverse.server import RunningDataverse


def test_whoami_names_the_caller(dataverse_sandbox: RunningDataverse, dataverse_session: requests.Session) -> None:
    body = dataverse_session.get(dataverse_sandbox.api_url + "WhoAmI").json()
    assert body["UserId"] == CONNECTOR_USER_ID
    assert body["BusinessUnitId"] == BUSINESS_UNIT_ID
    assert body["OrganizationId"] == ORGANIZATION_ID
    person = requests.get(
        dataverse_sandbox.api_url + "WhoAmI", headers={"Authorization": f"Bearer {SANDBOX_PERSON_TOKEN}"}, timeout=5
    )
    assert person.json()["UserId"] == PERSON_USER_ID


def test_unknown_or_missing_token_is_401(dataverse_sandbox: RunningDataverse) -> None:
    missing = requests.get(dataverse_sandbox.api_url + "accounts", timeout=5)
    wrong = requests.get(dataverse_sandbox.api_url + "accounts", headers={"Authorization": "Bearer nope"}, timeout=5)
    assert missing.status_code == 401
    assert wrong.status_code == 401
    assert wrong.json()["error"]["code"].startswith("0x")


def test_seeded_entity_sets_answer(dataverse_sandbox: RunningDataverse, dataverse_session: requests.Session) -> None:
    api = dataverse_sandbox.api_url
    counts = {
        name: len(dataverse_session.get(api + name).json()["value"])
        for name in (
            "invoices",
            "invoicedetails",
            "accounts",
            "contacts",
            "products",
            "pricelevels",
            "transactioncurrencies",
            "uoms",
            "systemusers",
            "sdkmessages",
            "sdkmessagefilters",
            "serviceendpoints",
            "sdkmessageprocessingsteps",
            "sdkmessageprocessingstepimages",
            "asyncoperations",
        )
    }
    assert counts["transactioncurrencies"] == 2
    assert counts["accounts"] == 3
    assert counts["systemusers"] == 2
    assert counts["products"] == 3
    assert counts["invoices"] == 0
    assert counts["sdkmessagefilters"] >= 15


def test_unknown_entity_set_is_404(dataverse_sandbox: RunningDataverse, dataverse_session: requests.Session) -> None:
    response = dataverse_session.get(dataverse_sandbox.api_url + "opportunities")
    assert response.status_code == 404
    assert "opportunities" in response.json()["error"]["message"]


def test_currencies_and_products_look_real(
    dataverse_sandbox: RunningDataverse, dataverse_session: requests.Session
) -> None:
    api = dataverse_sandbox.api_url
    codes = {c["isocurrencycode"] for c in dataverse_session.get(api + "transactioncurrencies").json()["value"]}
    assert codes == {"GBP", "USD"}
    numbers = [
        p["productnumber"] for p in dataverse_session.get(api + "products?$orderby=productnumber").json()["value"]
    ]
    assert numbers == ["GADGET-002", "SERVICE-HOUR", "WIDGET-001"]
