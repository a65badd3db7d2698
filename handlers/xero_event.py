"""A Xero INVOICE, CREDITNOTE or CONTACT event: re-read the resource from Xero and bring Dynamics in line.

The events are thin (ids only), so the handler will fetch the current state. What it writes into Dynamics
(payments, statuses, balances) lands with the Xero -> Dynamics flow; until then it records receipt, and the
three kinds share this module.
"""

from __future__ import annotations

import logging
from typing import Any

from app.dispatch import JobContext

log = logging.getLogger(__name__)


def handle(ctx: JobContext) -> dict[str, Any]:
    resource_id = ctx.payload["resource_id"]
    log.info("xero event received", extra={"kind": ctx.kind, "resource_id": resource_id,
                                           "events": len(ctx.triggers)})
    return {"handler": __name__, "kind": ctx.kind, "tenant_id": ctx.payload["tenant_id"],
            "resource_id": resource_id, "events": len(ctx.triggers)}
