"""The contexts the sandbox fires parse with the connector's own webhook parser."""

from __future__ import annotations

from decimal import Decimal

import pytest
import requests

from sandbox.dataverse.seed import ACCOUNT_IDS, CONNECTOR_USER_ID
from sandbox.dataverse.server import RunningDataverse
from tests.sandbox.dataverse.receiver import Receiver
from tests.sandbox.dataverse.registering import register

parser = pytest.importorskip("app.webhooks.dataverse_context")


def test_update_delete_and_trimmed_contexts_parse(
    dataverse_sandbox: RunningDataverse,
    dataverse_session: requests.Session,
    api: str,
    receiver: Receiver,
    invoice_id: str,
) -> None:
    register(dataverse_session, api, receiver.url, "Update", "invoice", images=(("pre", 0, None), ("post", 1, None)))
    register(dataverse_session, api, receiver.url, "Delete", "invoice", images=(("gone", 0, "name,totalamount"),))
    dataverse_session.patch(api + f"invoices({invoice_id})", json={"name": "Renamed", "discountamount": 5})
    dataverse_session.delete(api + f"invoices({invoice_id})")
    assert dataverse_sandbox.wait_for_webhooks(timeout=20)
    events = [parser.parse_context(c.body, c.headers) for c in receiver.calls]
    assert [e.message for e in events] == ["Update", "Delete"]
    update, delete = events
    assert update.record_id == invoice_id and update.entity == "invoice"
    assert update.changed_attributes["name"] == "Renamed"
    assert update.attribute("totalamount") == Decimal("20")
    assert update.pre_image()["name"] == "Website build"
    assert update.initiating_user_id == CONNECTOR_USER_ID
    assert update.operation_created_on is not None and not update.trimmed
    assert delete.pre_image()["totalamount"] == Decimal("20")


def test_trimmed_context_parses_as_trimmed(
    dataverse_sandbox: RunningDataverse, dataverse_session: requests.Session, api: str, receiver: Receiver
) -> None:
    dataverse_session.post(
        api + "EntityDefinitions(LogicalName='account')/Attributes",
        json={
            "@odata.type": "Microsoft.Dynamics.CRM.MemoAttributeMetadata",
            "SchemaName": "xc_Notes",
            "MaxLength": 1048576,
        },
    )
    register(dataverse_session, api, receiver.url, "Update", "account")
    dataverse_session.patch(api + f"accounts({ACCOUNT_IDS[0]})", json={"xc_notes": "y" * 270_000})
    assert dataverse_sandbox.wait_for_webhooks(timeout=20)
    event = parser.parse_context(receiver.calls[0].body, receiver.calls[0].headers)
    assert event.trimmed
    assert event.record_id == ACCOUNT_IDS[0]
