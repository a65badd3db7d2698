"""DataverseClient.batch against the sandbox: one atomic change set, Content-ID references, named failures."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import requests

from app import dynamics_schema as schema
from app.clients.dataverse import (
    BatchOperation,
    DataverseClient,
    DataverseRejected,
    RowNotFound,
    odata_literal,
)
from app.clients.dataverse_batch import build_batch, parse_batch_response
from app.errors import Permanent
from sandbox.dataverse.seed import ACCOUNT_IDS, CONTACT_IDS, PRICE_LIST_ID
from sandbox.dataverse.server import RunningDataverse
from tests.clients.conftest import MISSING_ID
from tests.stack_helpers import provision_sandbox


def names_like(client: DataverseClient, name: str) -> list[dict[str, object]]:
    return client.query("accounts", filter="name eq " + odata_literal(name), select="name")


def test_change_set_applies_every_operation_in_one_request(
    client: DataverseClient, calls: list[requests.PreparedRequest]
) -> None:
    results = client.batch(
        [
            BatchOperation.create("accounts", {"name": "Batch Café £"}),
            BatchOperation.create("contacts", {"lastname": "Batcher", "parentcustomerid_account@odata.bind": "$1"}),
            BatchOperation.update("accounts", ACCOUNT_IDS[0], {"telephone1": "+44 20 7946 0000"}),
            BatchOperation.delete("contacts", CONTACT_IDS[1]),
        ]
    )
    assert len(calls) == 1
    assert (calls[0].headers["Content-Type"] or "").startswith("multipart/mixed; boundary=batch_")
    assert [result.status for result in results] == [204, 204, 204, 204]
    assert all(result.ok for result in results)
    account_id, contact_id = results[0].entity_id, results[1].entity_id
    assert account_id and contact_id and account_id != contact_id
    contact = client.get("contacts", contact_id, expand="parentcustomerid_account($select=name)")
    assert contact["parentcustomerid_account"]["accountid"] == account_id
    assert contact["parentcustomerid_account"]["name"] == "Batch Café £"
    assert client.get("accounts", ACCOUNT_IDS[0], select="telephone1")["telephone1"] == "+44 20 7946 0000"
    assert client.get_optional("contacts", CONTACT_IDS[1]) is None
    assert results[2].entity_id == ACCOUNT_IDS[0]


def test_a_failing_operation_is_named_and_nothing_is_applied(client: DataverseClient) -> None:
    with pytest.raises(RowNotFound) as caught:
        client.batch(
            [
                BatchOperation.create("accounts", {"name": "Half done"}),
                BatchOperation.update("accounts", ACCOUNT_IDS[1], {"name": "Also undone"}),
                BatchOperation.update("accounts", MISSING_ID, {"name": "Ghost"}),
            ]
        )
    error = caught.value
    assert error.operation == f"operation 3 of 3 (PATCH accounts({MISSING_ID}))"
    assert error.operation in str(error)
    assert "nothing in the change set was applied" in str(error)
    assert (error.entity_set, error.row_id) == ("accounts", MISSING_ID)
    assert names_like(client, "Half done") == []
    assert client.get("accounts", ACCOUNT_IDS[1], select="name")["name"] == "Fabrikam Inc"


def test_a_rejected_operation_carries_dataverses_message(client: DataverseClient) -> None:
    with pytest.raises(DataverseRejected) as caught:
        client.batch(
            [
                BatchOperation.create("accounts", {"name": "First"}),
                BatchOperation.create("accounts", {"name": "Broken", "nosuchcolumn": 1}),
            ]
        )
    assert caught.value.operation == "operation 2 of 2 (POST accounts)"
    assert "nosuchcolumn" in caught.value.dataverse_message
    assert names_like(client, "First") == []


def test_independent_requests_each_report_their_own_outcome(client: DataverseClient) -> None:
    results = client.batch(
        [
            BatchOperation.get("accounts", ACCOUNT_IDS[0], select=["name", "accountnumber"]),
            BatchOperation.update("accounts", MISSING_ID, {"name": "Ghost"}),
            BatchOperation.create("accounts", {"name": "Still made"}),
        ],
        atomic=False,
    )
    assert [result.status for result in results] == [200, 404, 204]
    assert results[0].ok and results[0].body is not None and results[0].body["name"] == "Contoso Ltd"
    assert isinstance(results[1].error, RowNotFound) and not results[1].ok
    assert results[1].error.operation == f"operation 2 of 3 (PATCH accounts({MISSING_ID}))"
    assert results[2].ok and results[2].entity_id
    assert [row["accountid"] for row in names_like(client, "Still made")] == [results[2].entity_id]


def test_reads_are_refused_inside_a_change_set_before_sending(
    client: DataverseClient, calls: list[requests.PreparedRequest]
) -> None:
    with pytest.raises(Permanent, match="reads inside a change set"):
        client.batch([BatchOperation.get("accounts", ACCOUNT_IDS[0])])
    assert client.batch([]) == []
    assert calls == []


def test_an_invoice_write_back_with_its_history_row(
    client: DataverseClient, dataverse_sandbox: RunningDataverse
) -> None:
    """The shape of a sync outcome: the invoice's Xero columns and a Sync History row, together or not at all."""
    provision_sandbox(dataverse_sandbox)
    invoice_id = client.create(
        "invoices",
        {
            "name": "Website build",
            "customerid_account@odata.bind": f"/accounts({ACCOUNT_IDS[0]})",
            "pricelevelid@odata.bind": f"/pricelevels({PRICE_LIST_ID})",
        },
    )
    xero_id = "0b3f5c2e-8c1a-4a61-9d7e-4f2b6f1e9a01"
    history = {
        schema.SYNC_HISTORY_NAME: "Created in Xero as INV-0042",
        schema.SYNC_HISTORY_OCCURRED_ON: datetime(2026, 11, 22, 5, 0, tzinfo=UTC),
        schema.SYNC_HISTORY_ACTION: schema.SyncAction.CREATE,
        schema.SYNC_HISTORY_STATUS: schema.SyncStatus.SUCCESS,
        schema.SYNC_HISTORY_XERO_INVOICE_ID: xero_id,
        f"{schema.SYNC_HISTORY_INVOICE_NAV}@odata.bind": f"/invoices({invoice_id})",
    }
    client.batch(
        [
            BatchOperation.update(
                "invoices",
                invoice_id,
                {
                    schema.INVOICE_XERO_INVOICE_ID: xero_id,
                    schema.INVOICE_XERO_NUMBER: "INV-0042",
                    schema.INVOICE_EXPORT_STATUS: schema.ExportStatus.YES,
                },
            ),
            BatchOperation.create(schema.SYNC_HISTORY_ENTITY_SET, history),
        ]
    )
    invoice = client.get("invoices", invoice_id, select=[schema.INVOICE_XERO_NUMBER, schema.INVOICE_EXPORT_STATUS])
    assert invoice[schema.INVOICE_XERO_NUMBER] == "INV-0042"
    assert invoice[schema.INVOICE_EXPORT_STATUS] == schema.ExportStatus.YES
    rows = client.query(
        schema.SYNC_HISTORY_ENTITY_SET,
        filter=f"_{schema.SYNC_HISTORY_INVOICE}_value eq {invoice_id}",
        select=[schema.SYNC_HISTORY_STATUS, schema.SYNC_HISTORY_XERO_INVOICE_ID],
    )
    assert [(row[schema.SYNC_HISTORY_STATUS], row[schema.SYNC_HISTORY_XERO_INVOICE_ID]) for row in rows] == [
        (schema.SyncStatus.SUCCESS, xero_id)
    ]


def test_batch_body_round_trips_through_the_multipart_parser() -> None:
    body, content_type = build_batch(
        [BatchOperation.create("accounts", {"name": "£ and ü"})], "https://org.example/api/data/v9.2/", atomic=True
    )
    text = body.decode()
    assert "Content-ID: 1\r\n" in text
    assert "POST https://org.example/api/data/v9.2/accounts HTTP/1.1\r\n" in text
    assert content_type.startswith("multipart/mixed; boundary=batch_")
    # An answer in Dataverse's shape, with UTF-8 in a body, parses back into its responses.
    answer = (
        "--batchresponse_x\r\nContent-Type: multipart/mixed; boundary=changesetresponse_y\r\n\r\n"
        "--changesetresponse_y\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n"
        "Content-ID: 1\r\n\r\nHTTP/1.1 201 Created\r\nContent-Type: application/json\r\n\r\n"
        '{"name":"£ and ü"}\r\n--changesetresponse_y--\r\n--batchresponse_x--\r\n'
    ).encode()
    [response] = parse_batch_response("multipart/mixed; boundary=batchresponse_x", answer)
    assert (response.status, response.content_id) == (201, "1")
    assert response.json() == {"name": "£ and ü"}
