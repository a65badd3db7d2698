"""Small helpers shared by the sandbox Dataverse tests."""

from __future__ import annotations

import re

import requests

GUID = re.compile(r"\(([0-9a-f-]{36})\)$")


def created_id(response: requests.Response) -> str:
    """The id from a 204 create's OData-EntityId header (failing loudly when the create failed)."""
    assert response.status_code == 204, response.text
    match = GUID.search(response.headers["OData-EntityId"])
    assert match is not None
    return match.group(1)
