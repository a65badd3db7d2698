"""Fixtures for the sandbox Dataverse tests: a webhook receiver and a seeded invoice."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from sandbox.dataverse.seed import ACCOUNT_IDS, PRICE_LIST_ID, PRODUCT_IDS
from sandbox.dataverse.server import RunningDataverse
from tests.sandbox.dataverse.helpers import created_id
from tests.sandbox.dataverse.receiver import Receiver


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    running = Receiver().start()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def api(dataverse_sandbox: RunningDataverse) -> str:
    return dataverse_sandbox.api_url


@pytest.fixture
def invoice_id(api: str, dataverse_session: requests.Session) -> str:
    """An active GBP invoice for Contoso with one Widget line (2 x 12.50)."""
    invoice = created_id(
        dataverse_session.post(
            api + "invoices",
            json={
                "name": "Website build",
                "customerid_account@odata.bind": f"/accounts({ACCOUNT_IDS[0]})",
                "pricelevelid@odata.bind": f"/pricelevels({PRICE_LIST_ID})",
                "duedate": "2026-12-31",
            },
        )
    )
    created_id(
        dataverse_session.post(
            api + "invoicedetails",
            json={
                "invoiceid@odata.bind": f"/invoices({invoice})",
                "productid@odata.bind": f"/products({PRODUCT_IDS[0]})",
                "quantity": 2,
            },
        )
    )
    return invoice
