"""`provision --import`: the same customisations as one solution import, for "solutions only" organisations.

The solution file of `package` is sent with ImportSolutionAsync; the system job it starts is polled until it
finishes, then everything is published. A failed import is reported with Dataverse's reason.
"""

from __future__ import annotations

import base64
import time
import uuid
from collections.abc import Callable

from plugins_registration.errors import RegistrationError
from plugins_registration.package import solution_zip
from plugins_registration.report import ChangeReport
from plugins_registration.solution import SOLUTION_UNIQUE_NAME, SOLUTION_VERSION
from plugins_registration.webapi import WebApi

COMPLETED, SUCCEEDED = 3, 30


def import_solution(
    api: WebApi,
    report: ChangeReport,
    content: bytes | None = None,
    timeout_seconds: float = 900.0,
    poll_seconds: float = 2.0,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    content = solution_zip() if content is None else content
    report.change(f"import solution '{SOLUTION_UNIQUE_NAME}' {SOLUTION_VERSION} ({len(content):,} bytes)")
    if report.dry_run:
        report.change("publish all customizations")
        return
    answer = api.call(
        "ImportSolutionAsync",
        {
            "OverwriteUnmanagedCustomizations": False,  # keep what an admin changed since the last import
            "PublishWorkflows": False,
            "ImportJobId": str(uuid.uuid4()),
            "CustomizationFile": base64.b64encode(content).decode("ascii"),
        },
    )
    job_id = answer.get("AsyncOperationId")
    if not job_id:
        raise RegistrationError("Dataverse did not say which system job imports the solution (no AsyncOperationId)")
    deadline = time.monotonic() + timeout_seconds
    while True:
        job = api.get(f"asyncoperations({job_id})", {"$select": "statecode,statuscode,message,friendlymessage"})
        if job.get("statecode") == COMPLETED:
            break
        if time.monotonic() > deadline:
            raise RegistrationError(
                f"The solution import (system job {job_id}) has not finished after {timeout_seconds:.0f} s: "
                "see Settings > Solutions > Solution history, then run the command again"
            )
        sleep(poll_seconds)
    if job.get("statuscode") != SUCCEEDED:
        reason = job.get("friendlymessage") or job.get("message") or "no reason given"
        raise RegistrationError(f"Dataverse could not import the solution: {reason}")
    report.change("publish all customizations")
    api.post("PublishAllXml", {})
