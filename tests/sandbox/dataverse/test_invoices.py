"""Invoice behaviour: amounts computed from lines, numbering, columns that cannot change, state rules."""

from __future__ import annotations

import requests

from sandbox.dataverse.seed import ACCOUNT_IDS, PRODUCT_IDS, UNIT_ID, USD_CURRENCY_ID, USD_PRICE_LIST_ID
from tests.sandbox.dataverse.helpers import created_id

TOTALS = "totallineitemamount,totaldiscountamount,totaltax,totalamount,invoicenumber,_transactioncurrencyid_value"


def totals(session: requests.Session, api: str, invoice_id: str) -> dict:
    return session.get(api + f"invoices({invoice_id})?$select={TOTALS}").json()


def test_amounts_follow_the_lines(dataverse_session: requests.Session, api: str, invoice_id: str) -> None:
    # The fixture's line: Widget 2 x 12.50 (list price).
    created_id(
        dataverse_session.post(
            api + "invoicedetails",
            json={
                "invoiceid@odata.bind": f"/invoices({invoice_id})",
                "productdescription": "Rush fee",
                "quantity": 1,
                "priceperunit": 100,
                "manualdiscountamount": 10,
                "tax": 18,
            },
        )
    )
    created_id(
        dataverse_session.post(
            api + "invoicedetails",
            json={
                "invoiceid@odata.bind": f"/invoices({invoice_id})",
                "productid@odata.bind": f"/products({PRODUCT_IDS[1]})",
                "quantity": 3,
                "ispriceoverridden": True,
                "priceperunit": 30,
            },
        )
    )
    dataverse_session.patch(api + f"invoices({invoice_id})", json={"discountamount": 5, "freightamount": 7})
    row = totals(dataverse_session, api, invoice_id)
    assert row["totallineitemamount"] == 25 + 90 + 90
    assert row["totaldiscountamount"] == 5
    assert row["totaltax"] == 18
    assert row["totalamount"] == 205 - 5 + 7 + 18
    lines = dataverse_session.get(
        api + "invoicedetails",
        params={
            "$filter": f"_invoiceid_value eq {invoice_id}",
            "$select": "baseamount,extendedamount,isproductoverridden",
            "$orderby": "sequencenumber",
        },
    ).json()["value"]
    assert [(x["baseamount"], x["extendedamount"], x["isproductoverridden"]) for x in lines] == [
        (25.0, 25.0, False),
        (100.0, 108.0, True),
        (90.0, 90.0, False),
    ]


def test_line_changes_and_deletes_recalculate(dataverse_session: requests.Session, api: str, invoice_id: str) -> None:
    line = dataverse_session.get(api + f"invoices({invoice_id})/invoice_details").json()["value"][0]
    line_url = api + f"invoicedetails({line['invoicedetailid']})"
    assert dataverse_session.patch(line_url, json={"quantity": 4}).status_code == 204
    assert totals(dataverse_session, api, invoice_id)["totalamount"] == 50
    assert dataverse_session.delete(line_url).status_code == 204
    assert totals(dataverse_session, api, invoice_id)["totalamount"] == 0


def test_invoice_number_is_assigned_and_cannot_change(
    dataverse_session: requests.Session, api: str, invoice_id: str
) -> None:
    number = totals(dataverse_session, api, invoice_id)["invoicenumber"]
    assert number.startswith("INV-01")
    assert len(number.split("-")) == 3 and len(number.split("-")[2]) == 6
    response = dataverse_session.patch(
        api + f"invoices({invoice_id})",
        json={
            "invoicenumber": "MINE-1",
            "transactioncurrencyid@odata.bind": f"/transactioncurrencies({USD_CURRENCY_ID})",
        },
    )
    assert response.status_code == 204  # Dataverse ignores columns that are not valid for update
    row = totals(dataverse_session, api, invoice_id)
    assert row["invoicenumber"] == number
    assert row["_transactioncurrencyid_value"] != USD_CURRENCY_ID


def test_currency_comes_from_the_price_list(dataverse_session: requests.Session, api: str) -> None:
    invoice_id = created_id(
        dataverse_session.post(
            api + "invoices",
            json={
                "name": "US job",
                "customerid_account@odata.bind": f"/accounts({ACCOUNT_IDS[1]})",
                "pricelevelid@odata.bind": f"/pricelevels({USD_PRICE_LIST_ID})",
            },
        )
    )
    assert totals(dataverse_session, api, invoice_id)["_transactioncurrencyid_value"] == USD_CURRENCY_ID


def test_write_in_flag_cannot_change(dataverse_session: requests.Session, api: str, invoice_id: str) -> None:
    line = dataverse_session.get(api + f"invoices({invoice_id})/invoice_details").json()["value"][0]
    url = api + f"invoicedetails({line['invoicedetailid']})"
    dataverse_session.patch(url, json={"isproductoverridden": True})
    assert dataverse_session.get(url + "?$select=isproductoverridden").json()["isproductoverridden"] is False
    both = dataverse_session.post(
        api + "invoicedetails",
        json={
            "invoiceid@odata.bind": f"/invoices({invoice_id})",
            "productid@odata.bind": f"/products({PRODUCT_IDS[0]})",
            "uomid@odata.bind": f"/uoms({UNIT_ID})",
            "isproductoverridden": True,
            "quantity": 1,
        },
    )
    assert both.status_code == 400


def test_paid_invoice_is_read_only_until_reactivated(
    dataverse_session: requests.Session, api: str, invoice_id: str
) -> None:
    url = api + f"invoices({invoice_id})"
    assert dataverse_session.patch(url, json={"statecode": 2, "statuscode": 100001}).status_code == 204
    edit = dataverse_session.patch(url, json={"name": "Changed after payment"})
    assert edit.status_code == 400
    assert "paid or canceled" in edit.json()["error"]["message"]
    add_line = dataverse_session.post(
        api + "invoicedetails",
        json={"invoiceid@odata.bind": f"/invoices({invoice_id})", "productdescription": "Extra", "quantity": 1},
    )
    assert add_line.status_code == 400
    assert dataverse_session.delete(url).status_code == 400
    mixed = dataverse_session.patch(url, json={"statecode": 0, "statuscode": 1, "name": "Sneaky"})
    assert mixed.status_code == 400
    assert dataverse_session.patch(url, json={"statecode": 0}).status_code == 204
    row = dataverse_session.get(url + "?$select=statecode,statuscode").json()
    assert (row["statecode"], row["statuscode"]) == (0, 1)
    assert dataverse_session.patch(url, json={"name": "Editable again"}).status_code == 204


def test_canceled_invoice_and_state_status_pairs(
    dataverse_session: requests.Session, api: str, invoice_id: str
) -> None:
    url = api + f"invoices({invoice_id})"
    wrong_pair = dataverse_session.patch(url, json={"statecode": 3, "statuscode": 100001})
    assert wrong_pair.status_code == 400
    assert "not a valid status code" in wrong_pair.json()["error"]["message"]
    assert dataverse_session.patch(url, json={"statecode": 3}).status_code == 204
    assert dataverse_session.get(url + "?$select=statuscode").json()["statuscode"] == 100003
    assert dataverse_session.patch(url, json={"statecode": 2, "statuscode": 100001}).status_code == 400
    assert dataverse_session.patch(url, json={"statecode": 9}).status_code == 400


def test_totals_cannot_be_written(dataverse_session: requests.Session, api: str, invoice_id: str) -> None:
    dataverse_session.patch(api + f"invoices({invoice_id})", json={"totalamount": 999})
    assert totals(dataverse_session, api, invoice_id)["totalamount"] == 25


def test_amounts_round_as_dynamics_does_half_to_even(
    dataverse_session: requests.Session, api: str, invoice_id: str
) -> None:
    """3 x 12.495 = 37.485 -> 37.48 (half to even, .NET Math.Round); prices keep 4 decimals; a 2.5 %
    discount of 25.00 + 37.48 = 62.48 is 1.562 -> 1.56."""
    line_id = created_id(
        dataverse_session.post(
            api + "invoicedetails",
            json={
                "invoiceid@odata.bind": f"/invoices({invoice_id})",
                "productdescription": "Bolts",
                "quantity": 3,
                "priceperunit": 12.49504,
            },
        )
    )
    dataverse_session.patch(api + f"invoices({invoice_id})", json={"discountpercentage": 2.5})
    line = dataverse_session.get(api + f"invoicedetails({line_id})?$select=priceperunit,baseamount").json()
    assert (line["priceperunit"], line["baseamount"]) == (12.495, 37.48)
    row = totals(dataverse_session, api, invoice_id)
    assert (row["totallineitemamount"], row["totaldiscountamount"]) == (62.48, 1.56)
    assert row["totalamount"] == 60.92
