"""Service protection: over the request budget the Web API answers 429 with Retry-After."""

from __future__ import annotations

import requests

from sandbox.dataverse.server import RunningDataverse


def test_budget_set_at_runtime_gives_429_with_retry_after(dataverse_sandbox: RunningDataverse,
                                                          dataverse_session: requests.Session, api: str) -> None:
    admin = dataverse_sandbox.url + "/_sandbox/service-protection"
    assert requests.put(admin, json={"budget": 3, "retry_after_seconds": 7}, timeout=5).json()["budget"] == 3
    statuses = [dataverse_session.get(api + "accounts").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    throttled = dataverse_session.get(api + "WhoAmI")
    assert throttled.headers["Retry-After"] == "7"
    assert throttled.json()["error"]["code"] == "0x80072322"
    # The budget is per user: the salesperson still has theirs.
    person = requests.get(api + "WhoAmI", headers={"Authorization": "Bearer sandbox-person-token"}, timeout=5)
    assert person.status_code == 200
    requests.put(admin, json={"budget": None}, timeout=5)
    assert dataverse_session.get(api + "accounts").status_code == 200


def test_reset_restores_the_seed(dataverse_sandbox: RunningDataverse, dataverse_session: requests.Session,
                                 api: str) -> None:
    dataverse_session.post(api + "accounts", json={"name": "Temporary"})
    assert len(dataverse_session.get(api + "accounts").json()["value"]) == 4
    assert requests.post(dataverse_sandbox.url + "/_sandbox/reset", timeout=5).status_code == 200
    assert len(dataverse_session.get(api + "accounts").json()["value"]) == 3
