"""Change tracking on the sandbox: off until the table's definition enables it, then delta links that return
new or updated rows and deleted ids, and refusals where Dataverse refuses."""

from __future__ import annotations

import requests

from sandbox.dataverse.seed import ACCOUNT_IDS, PRICE_LIST_ID
from tests.sandbox.dataverse.helpers import created_id

TRACK = {"Prefer": "odata.track-changes"}


def enable(api: str, session: requests.Session, logical_name: str) -> requests.Response:
    path = f"{api}EntityDefinitions(LogicalName='{logical_name}')"
    definition = session.get(path).json()
    definition["ChangeTrackingEnabled"] = True
    return session.put(path, json=definition, headers={"MSCRM.MergeLabels": "true"})


def test_a_table_without_change_tracking_refuses_a_tracked_query(api, dataverse_session):
    answer = dataverse_session.get(api + "invoices", params={"$select": "name"}, headers=TRACK)
    assert answer.status_code == 400
    assert "Change tracking is not enabled" in answer.json()["error"]["message"]
    definition = dataverse_session.get(f"{api}EntityDefinitions(LogicalName='invoice')").json()
    assert definition["ChangeTrackingEnabled"] is False


def test_delta_links_return_new_updated_and_deleted_rows(api, dataverse_session, invoice_id):
    assert enable(api, dataverse_session, "invoice").status_code == 204
    first = dataverse_session.get(api + "invoices", params={"$select": "name"}, headers=TRACK)
    assert first.status_code == 200, first.text
    assert "odata.track-changes" in first.headers["Preference-Applied"]
    assert invoice_id in [row["invoiceid"] for row in first.json()["value"]]
    link = first.json()["@odata.deltaLink"]
    assert "$deltatoken=" in requests.utils.unquote(link)

    nothing = dataverse_session.get(link).json()
    assert nothing["value"] == [] and nothing["@odata.context"].endswith("/$delta")

    dataverse_session.patch(f"{api}invoices({invoice_id})", json={"name": "Renamed"})
    second = {
        "name": "Second",
        "customerid_account@odata.bind": f"/accounts({ACCOUNT_IDS[0]})",
        "pricelevelid@odata.bind": f"/pricelevels({PRICE_LIST_ID})",
    }
    other = created_id(dataverse_session.post(api + "invoices", json=second))
    dataverse_session.delete(f"{api}invoices({other})")
    changes = dataverse_session.get(link).json()

    updated = [row for row in changes["value"] if "@odata.context" not in row]
    deleted = [row for row in changes["value"] if row.get("@odata.context", "").endswith("/$deletedEntity")]
    assert [(row["invoiceid"], row["name"]) for row in updated] == [(invoice_id, "Renamed")]
    assert deleted == [{"@odata.context": f"{api}$metadata#invoices/$deletedEntity", "id": other, "reason": "deleted"}]
    assert dataverse_session.get(changes["@odata.deltaLink"]).json()["value"] == []


def test_tracked_queries_take_select_only_and_tracking_cannot_be_turned_off(api, dataverse_session):
    enable(api, dataverse_session, "invoice")
    filtered = dataverse_session.get(api + "invoices", params={"$filter": "name eq 'x'"}, headers=TRACK)
    assert filtered.status_code == 400 and "$filter" in filtered.json()["error"]["message"]

    path = f"{api}EntityDefinitions(LogicalName='invoice')"
    definition = dataverse_session.get(path).json()
    definition["ChangeTrackingEnabled"] = False
    assert dataverse_session.put(path, json=definition).status_code == 400
    assert dataverse_session.patch(path, json={"ChangeTrackingEnabled": True}).status_code == 405
