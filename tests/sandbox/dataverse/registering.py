"""Registering webhook steps through the Web API, the way an administrator's script does."""

from __future__ import annotations

from dataclasses import dataclass, field

import requests

from tests.sandbox.dataverse.helpers import created_id


@dataclass
class Registration:
    endpoint_id: str
    step_id: str
    image_ids: list[str] = field(default_factory=list)


def message_and_filter(session: requests.Session, api: str, message: str, table: str) -> tuple[str, str]:
    messages = session.get(api + "sdkmessages", params={"$filter": f"name eq '{message}'"}).json()["value"]
    message_id = messages[0]["sdkmessageid"]
    filters = session.get(
        api + "sdkmessagefilters",
        params={"$filter": f"primaryobjecttypecode eq '{table}' and _sdkmessageid_value eq {message_id}"},
    ).json()["value"]
    return message_id, filters[0]["sdkmessagefilterid"]


def add_endpoint(
    session: requests.Session, api: str, url: str, authtype: int = 4, authvalue: str = "webhook-secret"
) -> str:
    return created_id(
        session.post(
            api + "serviceendpoints",
            json={
                "name": "Xero connector",
                "url": url,
                "contract": 8,
                "authtype": authtype,
                "authvalue": authvalue,
                "messageformat": 2,
            },
        )
    )


def add_step(
    session: requests.Session,
    api: str,
    endpoint_id: str,
    message: str,
    table: str,
    *,
    filtering: str | None = None,
    asyncautodelete: bool = False,
    mode: int = 1,
) -> str:
    message_id, filter_id = message_and_filter(session, api, message, table)
    body = {
        "name": f"Xero connector: {message} of {table}",
        "stage": 40,
        "mode": mode,
        "rank": 1,
        "supporteddeployment": 0,
        "asyncautodelete": asyncautodelete,
        "eventhandler_serviceendpoint@odata.bind": f"/serviceendpoints({endpoint_id})",
        "sdkmessageid@odata.bind": f"/sdkmessages({message_id})",
        "sdkmessagefilterid@odata.bind": f"/sdkmessagefilters({filter_id})",
    }
    if filtering:
        body["filteringattributes"] = filtering
    return created_id(session.post(api + "sdkmessageprocessingsteps", json=body))


def add_image(
    session: requests.Session,
    api: str,
    step_id: str,
    alias: str,
    imagetype: int,
    prop: str,
    attributes: str | None = None,
) -> str:
    body = {
        "name": alias,
        "entityalias": alias,
        "imagetype": imagetype,
        "messagepropertyname": prop,
        "sdkmessageprocessingstepid@odata.bind": f"/sdkmessageprocessingsteps({step_id})",
    }
    if attributes:
        body["attributes"] = attributes
    return created_id(session.post(api + "sdkmessageprocessingstepimages", json=body))


def register(
    session: requests.Session,
    api: str,
    url: str,
    message: str,
    table: str,
    *,
    authtype: int = 4,
    authvalue: str = "webhook-secret",
    filtering: str | None = None,
    images: tuple[tuple[str, int, str | None], ...] = (),
    asyncautodelete: bool = False,
    mode: int = 1,
) -> Registration:
    endpoint_id = add_endpoint(session, api, url, authtype, authvalue)
    step_id = add_step(
        session, api, endpoint_id, message, table, filtering=filtering, asyncautodelete=asyncautodelete, mode=mode
    )
    prop = "Id" if message == "Create" else "Target"
    image_ids = [add_image(session, api, step_id, alias, kind, prop, attrs) for alias, kind, attrs in images]
    return Registration(endpoint_id, step_id, image_ids)
