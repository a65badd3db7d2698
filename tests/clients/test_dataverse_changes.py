"""`DataverseClient.changes`: change tracking through the Web API against the sandbox."""

from __future__ import annotations

import pytest

from app.clients.dataverse_errors import DataverseRejected
from sandbox.dataverse.seed import ACCOUNT_IDS


def test_a_first_read_pages_through_every_row_then_the_link_returns_changes_and_deletes(client, dataverse_sandbox):
    dataverse_sandbox.sandbox.store.schema.tables["account"].change_tracking = True
    first = client.changes("accounts", select=["name"], page_size=1)
    assert {row["accountid"] for row in first.changed} >= set(ACCOUNT_IDS)
    assert first.deleted == []

    client.update("accounts", ACCOUNT_IDS[0], {"name": "Contoso (renamed)"})
    created = client.create("accounts", {"name": "Short-lived Ltd"})
    client.delete("accounts", created)
    later = client.changes("accounts", select=["name"], delta_link=first.delta_link)

    assert [(row["accountid"], row["name"]) for row in later.changed] == [(ACCOUNT_IDS[0], "Contoso (renamed)")]
    assert later.deleted == [created.lower()]
    assert client.changes("accounts", select=["name"], delta_link=later.delta_link).changed == []


def test_a_table_without_change_tracking_is_refused_with_dataverses_reason(client):
    with pytest.raises(DataverseRejected) as refused:
        client.changes("products", select=["name"])
    assert "Change tracking is not enabled" in refused.value.dataverse_message
