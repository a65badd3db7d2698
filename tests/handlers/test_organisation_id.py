"""The Dynamics organisation id is asked of Dataverse once and shared, not once per forked job."""

from __future__ import annotations

from app.clients.dataverse import DataverseClient, StaticTokenSource
from handlers import xero_writeback
from handlers.xero_writeback import organisation_id
from sandbox.dataverse.seed import SANDBOX_CONNECTOR_TOKEN


def test_the_organisation_id_is_learnt_once_for_every_process(dataverse_sandbox, redis_conn, monkeypatch):
    client = DataverseClient(dataverse_sandbox.url, StaticTokenSource(SANDBOX_CONNECTOR_TOKEN))
    monkeypatch.setattr(xero_writeback, "_organisations", {})
    dataverse_sandbox.sandbox.request_counts(clear=True)
    first = organisation_id(client, redis_conn)
    monkeypatch.setattr(xero_writeback, "_organisations", {})  # the next job's work-horse starts empty
    assert organisation_id(client, redis_conn) == first
    assert dataverse_sandbox.sandbox.request_counts() == {"GET WhoAmI": 1}
