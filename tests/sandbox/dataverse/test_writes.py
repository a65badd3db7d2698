"""Writes: create, update, upsert, optimistic concurrency, delete, binds and $batch."""

from __future__ import annotations

import json
import uuid

import requests

from sandbox.dataverse.seed import ACCOUNT_IDS, CONNECTOR_USER_ID, CONTACT_IDS, PRICE_LIST_ID
from tests.sandbox.dataverse.helpers import created_id

REPRESENTATION = {"Prefer": "return=representation"}


def test_post_answers_204_with_entity_id(dataverse_session: requests.Session, api: str) -> None:
    response = dataverse_session.post(api + "accounts", json={"name": "Initech"})
    account_id = created_id(response)
    assert response.headers["OData-EntityId"] == f"{api}accounts({account_id})"
    row = dataverse_session.get(api + f"accounts({account_id})").json()
    assert row["name"] == "Initech"
    assert row["_ownerid_value"] == row["_createdby_value"] == row["_modifiedby_value"] == CONNECTOR_USER_ID
    assert row["createdon"].endswith("Z")
    assert (row["statecode"], row["statuscode"]) == (0, 1)


def test_post_with_return_representation_is_201(dataverse_session: requests.Session, api: str) -> None:
    response = dataverse_session.post(api + "accounts?$select=name", json={"name": "Initech"}, headers=REPRESENTATION)
    assert response.status_code == 201
    assert response.json()["name"] == "Initech"
    assert set(response.json()) == {"@odata.context", "@odata.etag", "name", "accountid"}


def test_unknown_column_and_wrong_navigation_are_400(dataverse_session: requests.Session, api: str) -> None:
    unknown = dataverse_session.post(api + "accounts", json={"name": "x", "xc_xeroid": "1"})
    assert unknown.status_code == 400
    assert "xc_xeroid" in unknown.json()["error"]["message"]
    lower_case_nav = dataverse_session.post(
        api + "invoices", json={"name": "x", "customerid@odata.bind": f"/accounts({ACCOUNT_IDS[0]})"}
    )
    assert lower_case_nav.status_code == 400
    assert "undeclared property 'customerid'" in lower_case_nav.json()["error"]["message"]
    lookup_value = dataverse_session.post(
        api + "contacts", json={"lastname": "x", "_parentcustomerid_value": ACCOUNT_IDS[0]}
    )
    assert lookup_value.status_code == 400
    wrong_type = dataverse_session.post(api + "accounts", json={"name": 5})
    assert wrong_type.status_code == 400


def test_bind_to_a_missing_row_is_404(dataverse_session: requests.Session, api: str) -> None:
    response = dataverse_session.post(
        api + "contacts", json={"lastname": "x", "parentcustomerid_account@odata.bind": f"/accounts({uuid.uuid4()})"}
    )
    assert response.status_code == 404


def test_polymorphic_customer_bind(dataverse_session: requests.Session, api: str) -> None:
    invoice_id = created_id(
        dataverse_session.post(
            api + "invoices",
            json={
                "name": "For a person",
                "customerid_contact@odata.bind": f"/contacts({CONTACT_IDS[1]})",
                "pricelevelid@odata.bind": f"/pricelevels({PRICE_LIST_ID})",
            },
        )
    )
    row = dataverse_session.get(
        api + f"invoices({invoice_id})?$select=_customerid_value", headers={"Prefer": 'odata.include-annotations="*"'}
    ).json()
    assert row["_customerid_value"] == CONTACT_IDS[1]
    assert row["_customerid_value@Microsoft.Dynamics.CRM.lookuplogicalname"] == "contact"
    assert row["_customerid_value@Microsoft.Dynamics.CRM.associatednavigationproperty"] == "customerid_contact"


def test_patch_update_only_upsert_and_etag(dataverse_session: requests.Session, api: str) -> None:
    new_id = str(uuid.uuid4())
    update_only = dataverse_session.patch(
        api + f"accounts({new_id})", json={"name": "Ghost"}, headers={"If-Match": "*"}
    )
    assert update_only.status_code == 404
    upsert = dataverse_session.patch(api + f"accounts({new_id})", json={"name": "Upserted"})
    assert upsert.status_code == 204
    row = dataverse_session.get(api + f"accounts({new_id})").json()
    assert row["name"] == "Upserted"
    etag = row["@odata.etag"]
    fresh = dataverse_session.patch(
        api + f"accounts({new_id})", json={"name": "Renamed"}, headers={"If-Match": etag, **REPRESENTATION}
    )
    assert fresh.status_code == 200
    assert fresh.json()["name"] == "Renamed"
    stale = dataverse_session.patch(
        api + f"accounts({new_id})", json={"name": "Lost update"}, headers={"If-Match": etag}
    )
    assert stale.status_code == 412
    assert stale.json()["error"]["code"] == "0x80060882"
    create_only = dataverse_session.patch(
        api + f"accounts({new_id})", json={"name": "x"}, headers={"If-None-Match": "*"}
    )
    assert create_only.status_code == 412
    assert dataverse_session.get(api + f"accounts({new_id})").json()["name"] == "Renamed"


def test_delete_then_404(dataverse_session: requests.Session, api: str) -> None:
    account_id = created_id(dataverse_session.post(api + "accounts", json={"name": "Short lived"}))
    assert dataverse_session.delete(api + f"accounts({account_id})").status_code == 204
    assert dataverse_session.get(api + f"accounts({account_id})").status_code == 404
    assert dataverse_session.delete(api + f"accounts({account_id})").status_code == 404


def test_deleting_an_account_clears_lookups_to_it(dataverse_session: requests.Session, api: str) -> None:
    assert dataverse_session.delete(api + f"accounts({ACCOUNT_IDS[0]})").status_code == 204
    contact = dataverse_session.get(api + f"contacts({CONTACT_IDS[0]})?$select=_parentcustomerid_value").json()
    assert contact["_parentcustomerid_value"] is None


def test_person_cannot_write_registration_tables_but_can_write_accounts(dataverse_sandbox, api: str) -> None:
    person = {"Authorization": "Bearer sandbox-person-token"}
    assert requests.post(api + "accounts", json={"name": "Mine"}, headers=person, timeout=5).status_code == 204
    step = requests.post(api + "sdkmessageprocessingsteps", json={"name": "x"}, headers=person, timeout=5)
    assert step.status_code == 403
    assert step.json()["error"]["code"] == "0x80040220"


def _batch(parts: list[str], boundary: str = "batch_1") -> tuple[bytes, str]:
    body = "".join(f"--{boundary}\r\n{part}" for part in parts) + f"--{boundary}--\r\n"
    return body.encode(), f"multipart/mixed; boundary={boundary}"


def _http(method: str, url: str, body: dict | None = None, content_id: str | None = None) -> str:
    head = "Content-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n"
    if content_id:
        head += f"Content-ID: {content_id}\r\n"
    text = f"{head}\r\n{method} {url} HTTP/1.1\r\n"
    if body is None:
        return text + "Accept: application/json\r\n\r\n"
    return text + f"Content-Type: application/json\r\n\r\n{json.dumps(body)}\r\n"


def _changeset(requests_: list[str], boundary: str = "changeset_1") -> str:
    inner = "".join(f"--{boundary}\r\n{r}" for r in requests_) + f"--{boundary}--\r\n"
    return f"Content-Type: multipart/mixed; boundary={boundary}\r\n\r\n{inner}"


def test_batch_with_change_set_and_content_id_references(dataverse_session: requests.Session, api: str) -> None:
    body, content_type = _batch(
        [
            _changeset(
                [
                    _http("POST", api + "accounts", {"name": "Batch Co"}, content_id="1"),
                    _http(
                        "POST",
                        api + "contacts",
                        {"lastname": "Batcher", "parentcustomerid_account@odata.bind": "$1"},
                        content_id="2",
                    ),
                ]
            ),
            _http("GET", api + "accounts?$select=name&$filter=name eq 'Batch Co'"),
        ]
    )
    response = dataverse_session.post(api + "$batch", data=body, headers={"Content-Type": content_type})
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("multipart/mixed; boundary=batchresponse_")
    text = response.text
    assert text.count("HTTP/1.1 204 No Content") == 2
    assert "Batch Co" in text
    contacts = dataverse_session.get(
        api + "contacts",
        params={"$filter": "lastname eq 'Batcher'", "$expand": "parentcustomerid_account($select=name)"},
    )
    assert contacts.json()["value"][0]["parentcustomerid_account"]["name"] == "Batch Co"


def test_failed_change_set_rolls_back_every_request(dataverse_session: requests.Session, api: str) -> None:
    body, content_type = _batch(
        [
            _changeset(
                [
                    _http("POST", api + "accounts", {"name": "Half done"}, content_id="1"),
                    _http("POST", api + "accounts", {"name": "Broken", "nosuchcolumn": 1}, content_id="2"),
                ]
            ),
        ]
    )
    response = dataverse_session.post(api + "$batch", data=body, headers={"Content-Type": content_type})
    assert response.status_code == 200
    assert "HTTP/1.1 400 Bad Request" in response.text
    found = dataverse_session.get(api + "accounts", params={"$filter": "name eq 'Half done'"}).json()["value"]
    assert found == []


def test_disassociate_clears_a_lookup(dataverse_session: requests.Session, api: str) -> None:
    url = api + f"contacts({CONTACT_IDS[0]})"
    assert dataverse_session.delete(url + "/parentcustomerid_account/$ref").status_code == 204
    assert dataverse_session.get(url + "?$select=_parentcustomerid_value").json()["_parentcustomerid_value"] is None


def test_batch_stops_at_the_first_failure_unless_asked_to_continue(
    dataverse_session: requests.Session, api: str
) -> None:
    parts = [_http("POST", api + "accounts", {"nosuchcolumn": 1}), _http("POST", api + "accounts", {"name": "After"})]
    body, content_type = _batch(parts)
    stopped = dataverse_session.post(api + "$batch", data=body, headers={"Content-Type": content_type})
    assert stopped.text.count("HTTP/1.1 ") == 1
    assert dataverse_session.get(api + "accounts?$filter=name eq 'After'").json()["value"] == []
    carried_on = dataverse_session.post(
        api + "$batch", data=body, headers={"Content-Type": content_type, "Prefer": "odata.continue-on-error"}
    )
    assert carried_on.text.count("HTTP/1.1 ") == 2
    assert f"OData-EntityId: {api}accounts(" in carried_on.text
    assert len(dataverse_session.get(api + "accounts?$filter=name eq 'After'").json()["value"]) == 1


def test_deep_insert_creates_invoice_and_lines(dataverse_session: requests.Session, api: str) -> None:
    response = dataverse_session.post(
        api + "invoices?$select=totalamount",
        headers=REPRESENTATION,
        json={
            "name": "Deep",
            "customerid_account@odata.bind": f"/accounts({ACCOUNT_IDS[0]})",
            "pricelevelid@odata.bind": f"/pricelevels({PRICE_LIST_ID})",
            "invoice_details": [
                {"productdescription": "Design", "quantity": 2, "priceperunit": 50},
                {"productdescription": "Hosting", "quantity": 1, "priceperunit": 20},
            ],
        },
    )
    assert response.status_code == 201
    assert response.json()["totalamount"] == 120
