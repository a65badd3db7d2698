"""Find the parent invoice of a changed invoice line whose event did not name it, then sync that invoice.

An Update of a line carries only the changed columns, so without a registered image the parent is unknown at
intake (which never calls Dataverse). The line's `_invoiceid_value` is read here; a line already deleted is
looked up in Redis's record of the lines each sync sent.
"""

from __future__ import annotations

import logging
from typing import Any

from app.dispatch import JobContext
from app.errors import Ignored
from app.queue import QUEUE_DATAVERSE, invoice_scope
from app.services import services_for
from handlers.dynamics_state import invoice_of_line
from handlers.invoice_sync import NOT_CONFIGURED

log = logging.getLogger(__name__)


def handle(ctx: JobContext) -> dict[str, Any]:
    organization_id = ctx.payload["organization_id"]
    line_id = ctx.payload["line_id"]
    receipt = {"handler": __name__, "line_id": line_id}
    services = services_for(ctx.redis)
    if services is None:
        log.warning("invoice line without parent received, nothing configured", extra={"line_id": line_id})
        return {**receipt, "skipped": NOT_CONFIGURED}
    invoice_id = None if ctx.payload.get("deleted") else invoice_of_line(services.dataverse, line_id)
    invoice_id = invoice_id or services.records.invoice_for_line(organization_id, line_id)
    if invoice_id is None:
        raise Ignored(f"invoice line {line_id} is gone and was never part of a synced invoice")
    submitted = ctx.jobs.submit_coalesced(
        QUEUE_DATAVERSE,
        "invoice.sync",
        {
            "organization_id": organization_id,
            "invoice_id": invoice_id,
            "correlation_id": ctx.payload.get("correlation_id"),
        },
        scope=invoice_scope(organization_id, invoice_id),
        trigger={"line_id": line_id, "resolved_by": ctx.job_id},
    )
    return {**receipt, "invoice_id": invoice_id, "sync_job": submitted.job_id, "sync": submitted.status}
