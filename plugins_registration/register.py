"""`register`, `unregister` and `rotate-secret`: keep the webhook endpoint and its steps as `steps.py` says.

A re-run compares what is registered with what is wanted and changes only the difference, in place.
The secret (authvalue) is write-only in Dataverse, so it is written on creation, when the auth mode
changes, and by rotate-secret; never compared.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from plugins_registration.errors import RegistrationError
from plugins_registration.report import ChangeReport
from plugins_registration.steps import (
    DEFAULT_HEADER_NAME,
    DEPLOYMENT_SERVER,
    ENDPOINT_NAME,
    MODE_ASYNC,
    RANK,
    STAGE_POST_OPERATION,
    WEBHOOK_CONTRACT,
    AuthType,
    EndpointSpec,
    ImageSpec,
    StepSpec,
    auth_label_in,
    desired_steps,
    header_name_in,
    safe_url,
)
from plugins_registration.webapi import WebApi

JSON_MESSAGE_FORMAT = 2
ENDPOINT_SELECT = "serviceendpointid,name,url,contract,authtype,description"
STEP_SELECT = (
    "sdkmessageprocessingstepid,name,stage,mode,rank,filteringattributes,supporteddeployment,asyncautodelete,"
    "statecode,statuscode,_sdkmessageid_value,_sdkmessagefilterid_value"
)
IMAGE_SELECT = "sdkmessageprocessingstepimageid,name,entityalias,imagetype,messagepropertyname,attributes"
OLDEST_FIRST = "createdon asc"  # of duplicates, the oldest is kept

SecretSource = Callable[[], str]


# -- reading what is registered ---------------------------------------------------------------------------


def _quoted(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def find_endpoints(api: WebApi) -> list[dict[str, Any]]:
    """Our webhook endpoints: normally one, more only if an earlier run was interrupted and retried."""
    return api.get_all(
        "serviceendpoints",
        {
            "$filter": f"contract eq {WEBHOOK_CONTRACT} and name eq {_quoted(ENDPOINT_NAME)}",
            "$select": ENDPOINT_SELECT,
            "$orderby": OLDEST_FIRST,
        },
    )


def find_endpoint(api: WebApi) -> dict[str, Any] | None:
    found = find_endpoints(api)
    return found[0] if found else None


def first_by(rows: list[dict[str, Any]], key: str) -> tuple[dict[str, dict[str, Any]], list[dict[str, Any]]]:
    """Rows by `key`, keeping the first of each; the others are duplicates (e.g. from a repeated create)."""
    first: dict[str, dict[str, Any]] = {}
    duplicates: list[dict[str, Any]] = []
    for row in rows:
        name = str(row.get(key))
        if name in first:
            duplicates.append(row)
        else:
            first[name] = row
    return first, duplicates


def endpoint_steps(api: WebApi, endpoint_id: str) -> list[dict[str, Any]]:
    return api.get_all(
        "sdkmessageprocessingsteps",
        {"$filter": f"_eventhandler_value eq {endpoint_id}", "$select": STEP_SELECT, "$orderby": OLDEST_FIRST},
    )


def step_images(api: WebApi, step_id: str) -> list[dict[str, Any]]:
    return api.get_all(
        "sdkmessageprocessingstepimages",
        {
            "$filter": f"_sdkmessageprocessingstepid_value eq {step_id}",
            "$select": IMAGE_SELECT,
            "$orderby": OLDEST_FIRST,
        },
    )


class MessageCatalogue:
    """Resolves message names and (message, table) filters to ids, asking Dataverse once for each."""

    def __init__(self, api: WebApi) -> None:
        self._api = api
        self._messages: dict[str, str] = {}
        self._filters: dict[tuple[str, str], str] = {}

    def message_id(self, name: str) -> str:
        if name not in self._messages:
            rows = self._api.get_all("sdkmessages", {"$filter": f"name eq {_quoted(name)}", "$select": "sdkmessageid"})
            if not rows:
                raise RegistrationError(f"This organisation has no '{name}' message (sdkmessages)")
            self._messages[name] = str(rows[0]["sdkmessageid"])
        return self._messages[name]

    def filter_id(self, message: str, table: str) -> str:
        key = (message, table)
        if key not in self._filters:
            message_id = self.message_id(message)
            rows = self._api.get_all(
                "sdkmessagefilters",
                {
                    "$filter": f"primaryobjecttypecode eq {_quoted(table)} and _sdkmessageid_value eq {message_id}",
                    "$select": "sdkmessagefilterid",
                },
            )
            if not rows:
                raise RegistrationError(
                    f"Dataverse offers no {message} step for table {table}: run `plugins_registration provision` first"
                )
            self._filters[key] = str(rows[0]["sdkmessagefilterid"])
        return self._filters[key]


# -- comparing (pure) -------------------------------------------------------------------------------------


def _column_set(value: str | None) -> frozenset[str]:
    return frozenset(part.strip().lower() for part in (value or "").split(",") if part.strip())


def endpoint_changes(existing: dict[str, Any], spec: EndpointSpec) -> dict[str, Any]:
    """Fields of the endpoint to PATCH so it matches the spec (authvalue is added by the caller)."""
    wanted = {"url": spec.url, "authtype": int(spec.auth), "description": spec.description}
    changes = {key: value for key, value in wanted.items() if existing.get(key) != value}
    if auth_label_in(existing.get("description")) == spec.auth_label and "authtype" not in changes:
        changes.pop("description", None)  # only the wording differs; the auth set-up is the same
    return changes


def auth_changed(existing: dict[str, Any], spec: EndpointSpec) -> bool:
    return existing.get("authtype") != int(spec.auth) or auth_label_in(existing.get("description")) != spec.auth_label


def step_fields(spec: StepSpec) -> dict[str, Any]:
    return {
        "name": spec.name,
        "description": f"Sends {spec.table} {spec.message} events to the Xero connector",
        "stage": STAGE_POST_OPERATION,
        "mode": MODE_ASYNC,
        "rank": RANK,
        "supporteddeployment": DEPLOYMENT_SERVER,
        "asyncautodelete": True,  # keep only failed system jobs, which `status` reports
        "filteringattributes": spec.filtering,
    }


def step_changes(existing: dict[str, Any], spec: StepSpec, message_id: str, filter_id: str) -> dict[str, Any]:
    """Fields of a registered step to PATCH so it matches the spec."""
    changes: dict[str, Any] = {}
    for key, value in step_fields(spec).items():
        if key in {"name", "description"}:
            continue
        if key == "filteringattributes":
            if _column_set(existing.get(key)) != _column_set(value):
                changes[key] = value
        elif existing.get(key) != value:
            changes[key] = value
    if existing.get("_sdkmessageid_value") != message_id:
        changes["sdkmessageid@odata.bind"] = f"/sdkmessages({message_id})"
    if existing.get("_sdkmessagefilterid_value") != filter_id:
        changes["sdkmessagefilterid@odata.bind"] = f"/sdkmessagefilters({filter_id})"
    if existing.get("statecode", 0) != 0:
        changes.update(statecode=0, statuscode=1)  # re-enable a step someone disabled
    return changes


def image_fields(spec: ImageSpec, step_name: str) -> dict[str, Any]:
    return {
        "name": spec.name(step_name),
        "entityalias": spec.alias,
        "imagetype": int(spec.image_type),
        "messagepropertyname": spec.message_property,
        "attributes": ",".join(spec.attributes),
    }


def image_changes(existing: dict[str, Any], spec: ImageSpec) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    if existing.get("imagetype") != int(spec.image_type):
        changes["imagetype"] = int(spec.image_type)
    if existing.get("messagepropertyname") != spec.message_property:
        changes["messagepropertyname"] = spec.message_property
    if _column_set(existing.get("attributes")) != _column_set(",".join(spec.attributes)):
        changes["attributes"] = ",".join(spec.attributes)
    return changes


def _describe(changes: dict[str, Any]) -> str:
    names = [key.split("@", 1)[0] for key in changes if key != "statuscode"]
    return ", ".join(names)


# -- commands ---------------------------------------------------------------------------------------------


def register(api: WebApi, spec: EndpointSpec, secret: SecretSource, report: ChangeReport) -> None:
    catalogue = MessageCatalogue(api)
    wanted = desired_steps()
    ids = {
        step.name: (catalogue.message_id(step.message), catalogue.filter_id(step.message, step.table))
        for step in wanted
    }

    endpoints = find_endpoints(api)
    if not endpoints:
        report.change(f"create webhook endpoint '{ENDPOINT_NAME}' -> {spec.url} ({spec.auth_label})")
        endpoint_id = "" if report.dry_run else _create_endpoint(api, spec, secret())
        existing_steps: list[dict[str, Any]] = []
    else:
        endpoint_id = str(endpoints[0]["serviceendpointid"])
        _update_endpoint(api, endpoints[0], spec, secret, report)
        existing_steps = endpoint_steps(api, endpoint_id)
        for duplicate in endpoints[1:]:
            _remove_endpoint(api, report, duplicate, "duplicate ")

    by_name, duplicate_steps = first_by(existing_steps, "name")
    for duplicate in duplicate_steps:
        report.change(f"remove duplicate step '{duplicate.get('name')}'")
        if not report.dry_run:
            _delete_step(api, str(duplicate["sdkmessageprocessingstepid"]))
    for step in wanted:
        message_id, filter_id = ids[step.name]
        current = by_name.pop(step.name, None)
        if current is None:
            _create_step(api, report, step, endpoint_id, message_id, filter_id)
        else:
            _update_step(api, report, step, current, message_id, filter_id)
    for leftover in by_name.values():
        report.change(f"remove step '{leftover.get('name')}' (no longer part of the connector)")
        if not report.dry_run:
            _delete_step(api, str(leftover["sdkmessageprocessingstepid"]))


def _create_endpoint(api: WebApi, spec: EndpointSpec, secret_value: str) -> str:
    created = api.post(
        "serviceendpoints",
        {
            "name": ENDPOINT_NAME,
            "description": spec.description,
            "url": spec.url,
            "contract": WEBHOOK_CONTRACT,
            "authtype": int(spec.auth),
            "authvalue": spec.authvalue(secret_value),
            "messageformat": JSON_MESSAGE_FORMAT,
        },
    )
    if not created:
        raise RegistrationError("Dataverse created the webhook endpoint but did not say its id")
    return created


def _update_endpoint(
    api: WebApi, endpoint: dict[str, Any], spec: EndpointSpec, secret: SecretSource, report: ChangeReport
) -> None:
    changes = endpoint_changes(endpoint, spec)
    if not changes:
        return
    if auth_changed(endpoint, spec):
        report.change(f"switch webhook endpoint auth to {spec.auth_label} (writes the secret)")
    if "url" in changes:
        report.change(f"change webhook endpoint URL to {spec.url}")
    if report.dry_run:
        return
    if auth_changed(endpoint, spec):
        changes["authvalue"] = spec.authvalue(secret())
    api.patch(f"serviceendpoints({endpoint['serviceendpointid']})", changes)


def _create_step(
    api: WebApi, report: ChangeReport, step: StepSpec, endpoint_id: str, message_id: str, filter_id: str
) -> None:
    filtering = f", filtering on {len(step.filtering_attributes)} columns" if step.filtering_attributes else ""
    report.change(f"create step '{step.name}' (async, post-operation{filtering})")
    for image in step.images:
        report.change(f"add image {image.alias} to '{step.name}' ({', '.join(image.attributes)})")
    if report.dry_run:
        return
    body = {key: value for key, value in step_fields(step).items() if value is not None}
    body.update(
        {
            "eventhandler_serviceendpoint@odata.bind": f"/serviceendpoints({endpoint_id})",
            "sdkmessageid@odata.bind": f"/sdkmessages({message_id})",
            "sdkmessagefilterid@odata.bind": f"/sdkmessagefilters({filter_id})",
        }
    )
    step_id = api.post("sdkmessageprocessingsteps", body)
    if not step_id:
        raise RegistrationError(f"Dataverse created step '{step.name}' but did not say its id")
    for image in step.images:
        _create_image(api, step, image, step_id)


def _create_image(api: WebApi, step: StepSpec, image: ImageSpec, step_id: str) -> None:
    body = image_fields(image, step.name)
    body["sdkmessageprocessingstepid@odata.bind"] = f"/sdkmessageprocessingsteps({step_id})"
    api.post("sdkmessageprocessingstepimages", body)


def _update_step(
    api: WebApi, report: ChangeReport, step: StepSpec, current: dict[str, Any], message_id: str, filter_id: str
) -> None:
    step_id = str(current["sdkmessageprocessingstepid"])
    changes = step_changes(current, step, message_id, filter_id)
    if changes:
        report.change(f"update step '{step.name}': {_describe(changes)}")
        if not report.dry_run:
            api.patch(f"sdkmessageprocessingsteps({step_id})", changes)

    images, duplicate_images = first_by(step_images(api, step_id), "entityalias")
    for duplicate in duplicate_images:
        report.change(f"remove duplicate image {duplicate.get('entityalias')} from '{step.name}'")
        if not report.dry_run:
            api.delete(f"sdkmessageprocessingstepimages({duplicate['sdkmessageprocessingstepimageid']})")
    for image in step.images:
        existing = images.pop(image.alias, None)
        if existing is None:
            report.change(f"add image {image.alias} to '{step.name}' ({', '.join(image.attributes)})")
            if not report.dry_run:
                _create_image(api, step, image, step_id)
            continue
        image_diff = image_changes(existing, image)
        if image_diff:
            report.change(f"update image {image.alias} of '{step.name}': {_describe(image_diff)}")
            if not report.dry_run:
                api.patch(f"sdkmessageprocessingstepimages({existing['sdkmessageprocessingstepimageid']})", image_diff)
    for alias, extra in images.items():
        report.change(f"remove image {alias} from '{step.name}'")
        if not report.dry_run:
            api.delete(f"sdkmessageprocessingstepimages({extra['sdkmessageprocessingstepimageid']})")


def _delete_step(api: WebApi, step_id: str) -> None:
    for image in step_images(api, step_id):
        api.delete(f"sdkmessageprocessingstepimages({image['sdkmessageprocessingstepimageid']})")
    api.delete(f"sdkmessageprocessingsteps({step_id})")


def _remove_endpoint(api: WebApi, report: ChangeReport, endpoint: dict[str, Any], kind: str = "") -> None:
    endpoint_id = str(endpoint["serviceendpointid"])
    for step in endpoint_steps(api, endpoint_id):
        report.change(f"remove step '{step.get('name')}' and its images")
        if not report.dry_run:
            _delete_step(api, str(step["sdkmessageprocessingstepid"]))
    report.change(f"remove {kind}webhook endpoint '{ENDPOINT_NAME}' ({safe_url(str(endpoint.get('url', '')))})")
    if not report.dry_run:
        api.delete(f"serviceendpoints({endpoint_id})")


def unregister(api: WebApi, report: ChangeReport) -> None:
    for endpoint in find_endpoints(api):
        _remove_endpoint(api, report, endpoint)


def rotate_secret(api: WebApi, secret: SecretSource, report: ChangeReport, header_name: str | None = None) -> None:
    endpoint = find_endpoint(api)
    if endpoint is None:
        raise RegistrationError("No webhook endpoint is registered yet: run `plugins_registration register` first")
    auth = AuthType(int(endpoint.get("authtype", AuthType.WEBHOOK_KEY)))
    recorded_header = header_name_in(endpoint.get("description"))
    spec = EndpointSpec(
        url=str(endpoint.get("url")), auth=auth, header_name=header_name or recorded_header or DEFAULT_HEADER_NAME
    )
    value = secret()  # read before announcing, so a missing secret fails without claiming a change
    report.change(f"write the new secret into webhook endpoint '{ENDPOINT_NAME}' ({spec.auth_label})")
    if report.dry_run:
        return
    changes: dict[str, Any] = {"authvalue": spec.authvalue(value)}
    if auth is AuthType.HTTP_HEADER and spec.header_name != recorded_header:
        changes["description"] = spec.description
    api.patch(f"serviceendpoints({endpoint['serviceendpointid']})", changes)
