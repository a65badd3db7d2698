"""Service protection: over the request budget the Web API answers 429 with Retry-After."""

from __future__ import annotations

import requests

from sandbox.dataverse.server import RunningDataverse


def test_budget_set_at_runtime_gives_429_with_retry_after(
    dataverse_sandbox: RunningDataverse, dataverse_session: requests.Session, api: str
) -> None:
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


def test_reset_restores_the_seed(
    dataverse_sandbox: RunningDataverse, dataverse_session: requests.Session, api: str
) -> None:
    dataverse_session.post(api + "accounts", json={"name": "Temporary"})
    assert len(dataverse_session.get(api + "accounts").json()["value"]) == 4
    assert requests.post(dataverse_sandbox.url + "/_sandbox/reset", timeout=5).status_code == 200
    assert len(dataverse_session.get(api + "accounts").json()["value"]) == 3


def test_admin_can_add_users_with_tokens(dataverse_sandbox: RunningDataverse, api: str) -> None:
    created = requests.post(
        dataverse_sandbox.url + "/_sandbox/users",
        timeout=5,
        json={"token": "accountant-token", "firstname": "Alex", "lastname": "Accountant"},
    )
    assert created.status_code == 201
    user_id = created.json()["systemuserid"]
    me = requests.get(api + "WhoAmI", headers={"Authorization": "Bearer accountant-token"}, timeout=5).json()
    assert me["UserId"] == user_id
    user = requests.get(
        api + f"systemusers({user_id})?$select=fullname",
        timeout=5,
        headers={"Authorization": "Bearer accountant-token"},
    ).json()
    assert user["fullname"] == "Alex Accountant"
    duplicate = requests.post(
        dataverse_sandbox.url + "/_sandbox/users", timeout=5, json={"token": "accountant-token", "lastname": "Again"}
    )
    assert duplicate.status_code == 400
