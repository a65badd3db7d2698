"""`status`: what is registered, and the recent failed system jobs of our steps."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from plugins_registration.register import endpoint_steps, find_endpoint, step_images
from plugins_registration.steps import AuthType, auth_label_in, safe_url
from plugins_registration.webapi import WebApi

FAILED_JOB_STATUS = 31
FAILED_JOBS_PER_STEP = 5
IMAGE_TYPES = {0: "pre-image", 1: "post-image", 2: "pre- and post-image"}
STEP_STATES = {0: "enabled", 1: "disabled"}


def failed_jobs(api: WebApi, step_id: str) -> list[dict[str, Any]]:
    return api.get_all(
        "asyncoperations",
        {
            "$filter": f"statuscode eq {FAILED_JOB_STATUS} and _owningextensionid_value eq {step_id}",
            "$select": "asyncoperationid,name,message,friendlymessage,createdon,completedon",
            "$orderby": "createdon desc",
            "$top": str(FAILED_JOBS_PER_STEP),
        },
    )


def show_status(api: WebApi, out: Callable[[str], None] = print) -> bool:
    """Prints the registration; returns False when nothing is registered."""
    endpoint = find_endpoint(api)
    if endpoint is None:
        out("No webhook endpoint is registered for the connector (run `plugins_registration register`).")
        return False
    auth = auth_label_in(endpoint.get("description"))
    if auth is None:
        authtype = endpoint.get("authtype")
        auth = "webhookkey" if authtype == AuthType.WEBHOOK_KEY else f"authtype {authtype}"
    out(f"Webhook endpoint '{endpoint.get('name')}': {safe_url(str(endpoint.get('url', '')))} (auth: {auth})")
    steps = sorted(endpoint_steps(api, str(endpoint["serviceendpointid"])), key=lambda step: str(step.get("name")))
    if not steps:
        out("  no steps registered")
    failures: list[tuple[str, dict[str, Any]]] = []
    for step in steps:
        step_id = str(step["sdkmessageprocessingstepid"])
        state = STEP_STATES.get(int(step.get("statecode") or 0), f"state {step.get('statecode')}")
        mode = "async" if step.get("mode") == 1 else "sync"
        out(f"  step '{step.get('name')}': {state}, {mode}, stage {step.get('stage')}")
        filtering = step.get("filteringattributes")
        if filtering:
            out(f"    filtering attributes: {filtering}")
        for image in step_images(api, step_id):
            kind = IMAGE_TYPES.get(int(image.get("imagetype") or 0), "image")
            columns = image.get("attributes") or "all columns"
            out(f"    {kind} '{image.get('entityalias')}': {columns}")
        failures.extend((str(step.get("name")), job) for job in failed_jobs(api, step_id))
    if not failures:
        out("No failed system jobs for these steps.")
        return True
    out(f"Recent failed system jobs ({len(failures)}):")
    for step_name, job in sorted(failures, key=lambda item: str(item[1].get("createdon") or ""), reverse=True):
        message = job.get("friendlymessage") or job.get("message") or "(no message)"
        first_line = str(message).strip().splitlines()[0] if str(message).strip() else "(no message)"
        out(f"  {job.get('createdon')} '{step_name}': {first_line}")
    return True
