"""Bring one invoice's Xero counterpart in line with Dynamics (create or update).

The job carries only ids: the handler re-reads the invoice from Dataverse. The push itself (contacts, lines,
tax, write-back, sync history) lands with the Dynamics -> Xero flow; until then the handler records receipt.
"""

from __future__ import annotations

import logging
from typing import Any

from app.dispatch import JobContext

log = logging.getLogger(__name__)


def handle(ctx: JobContext) -> dict[str, Any]:
    organization_id = ctx.payload["organization_id"]
    invoice_id = ctx.payload["invoice_id"]
    log.info("invoice sync received", extra={"invoice_id": invoice_id, "events": len(ctx.triggers)})
    return {"handler": __name__, "organization_id": organization_id, "invoice_id": invoice_id,
            "events": len(ctx.triggers)}
