"""Validation of the registration tables: webhook endpoints, steps and step images, as Dataverse checks them."""

from __future__ import annotations

import ipaddress
import xml.etree.ElementTree as ET
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from sandbox.dataverse.errors import INVALID_ARGUMENT, bad_request
from sandbox.dataverse.schema import Table
from sandbox.dataverse.store import Row

if TYPE_CHECKING:
    from sandbox.dataverse.records import Records

WEBHOOK_CONTRACT = 8
WEBHOOK_KEY, HTTP_HEADER, HTTP_QUERY_STRING = 4, 5, 6
POST_OPERATION = 40
ASYNC = 1
PRE_IMAGE, POST_IMAGE, BOTH_IMAGES = 0, 1, 2


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def parse_auth_settings(authvalue: str) -> list[tuple[str, str]]:
    """Name/value pairs of `<settings><setting name="X" value="v" /></settings>`."""
    try:
        # The value was written by an authenticated administrator of this sandbox, not by a stranger.
        root = ET.fromstring(authvalue)  # noqa: S314
    except ET.ParseError:
        raise bad_request(
            'The authvalue must be <settings><setting name="..." value="..." /></settings>.', INVALID_ARGUMENT
        ) from None
    pairs = [(s.get("name", ""), s.get("value", "")) for s in root.iter("setting")]
    if root.tag != "settings" or not pairs or any(not name for name, _ in pairs):
        raise bad_request('The authvalue must hold at least one <setting name="..." value="..." />.', INVALID_ARGUMENT)
    return pairs


def _check_endpoint(row: Row) -> None:
    if row.get("contract") != WEBHOOK_CONTRACT:
        return
    url = row.get("url") or ""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise bad_request(f"The webhook URL '{url}' is not a valid absolute http(s) URL.", INVALID_ARGUMENT)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    if port not in (80, 443) and not is_loopback(parts.hostname):
        raise bad_request("Only ports 80 and 443 are allowed for a webhook URL.", INVALID_ARGUMENT)
    authtype = row.get("authtype")
    if authtype not in (WEBHOOK_KEY, HTTP_HEADER, HTTP_QUERY_STRING):
        raise bad_request(
            "A webhook needs authtype 4 (WebhookKey), 5 (HttpHeader) or 6 (HttpQueryString).", INVALID_ARGUMENT
        )
    if not row.get("authvalue"):
        raise bad_request("A webhook needs an authvalue.", INVALID_ARGUMENT)
    if authtype in (HTTP_HEADER, HTTP_QUERY_STRING):
        parse_auth_settings(row["authvalue"])


def _message_name(records: Records, row: Row) -> str:
    message = records.store.get("sdkmessage", row["sdkmessageid"].id)
    return message["name"] if message else ""


def _check_attributes(records: Records, table_name: str, attributes: str | None, what: str) -> None:
    if not attributes:
        return
    table = records.schema.tables.get(table_name)
    for name in (a.strip() for a in attributes.split(",")):
        if table is not None and name not in table.columns:
            raise bad_request(f"The {what} '{name}' is not a column of {table_name}.", INVALID_ARGUMENT)


def _check_step(records: Records, row: Row) -> None:
    message = _message_name(records, row)
    filter_ref = row.get("sdkmessagefilterid")
    entity = None
    if filter_ref is not None:
        msg_filter = records.store.get("sdkmessagefilter", filter_ref.id)
        if msg_filter["sdkmessageid"] != row["sdkmessageid"]:
            raise bad_request("The message filter does not belong to the step's message.", INVALID_ARGUMENT)
        entity = msg_filter["primaryobjecttypecode"]
    if row.get("mode") == ASYNC and row.get("stage") != POST_OPERATION:
        raise bad_request(
            "Asynchronous steps can only be registered in the Post-operation stage (40).", INVALID_ARGUMENT
        )
    if row.get("stage") not in (10, 20, 40):
        raise bad_request("A step can only be registered in stage 10, 20 or 40.", INVALID_ARGUMENT)
    if row.get("asyncautodelete") and row.get("mode") != ASYNC:
        raise bad_request("asyncautodelete can only be set on asynchronous steps.", INVALID_ARGUMENT)
    if row.get("filteringattributes"):
        if message != "Update":
            raise bad_request("Filtering attributes can only be set for the Update message.", INVALID_ARGUMENT)
        if entity:
            _check_attributes(records, entity, row["filteringattributes"], "filtering attribute")
    if row.get("supporteddeployment") is None:
        row["supporteddeployment"] = 0


def _check_image(records: Records, row: Row) -> None:
    step = records.store.get("sdkmessageprocessingstep", row["sdkmessageprocessingstepid"].id)
    message = _message_name(records, step)
    expected = "Id" if message == "Create" else "Target"
    if row.get("messagepropertyname") != expected:
        raise bad_request(f"Images of a {message} step use messagepropertyname '{expected}'.", INVALID_ARGUMENT)
    imagetype = row.get("imagetype")
    if message == "Create" and imagetype != POST_IMAGE:
        raise bad_request("A Create step can only have a post-image.", INVALID_ARGUMENT)
    if message == "Delete" and imagetype != PRE_IMAGE:
        raise bad_request("A Delete step can only have a pre-image.", INVALID_ARGUMENT)
    filter_ref = step.get("sdkmessagefilterid")
    if filter_ref is not None:
        entity = records.store.get("sdkmessagefilter", filter_ref.id)["primaryobjecttypecode"]
        _check_attributes(records, entity, row.get("attributes"), "image attribute")


def before_create(records: Records, table: Table, row: Row) -> None:
    check(records, table, row)


def before_update(records: Records, table: Table, pre: Row, row: Row) -> None:
    check(records, table, row)


def check(records: Records, table: Table, row: Row) -> None:
    if table.logical_name == "serviceendpoint":
        _check_endpoint(row)
    elif table.logical_name == "sdkmessageprocessingstep":
        _check_step(records, row)
    elif table.logical_name == "sdkmessageprocessingstepimage":
        _check_image(records, row)
