"""Cancel the Xero counterpart of an invoice deleted in Dynamics, from the Delete's pre-image.

The row is gone, so the pre-image (Xero id, connection, number) is the only source. The cancellation rules
(delete a draft, credit an authorised invoice) land with the Dynamics -> Xero flow.
"""

from __future__ import annotations

import logging
from typing import Any

from app.dispatch import JobContext

log = logging.getLogger(__name__)


def handle(ctx: JobContext) -> dict[str, Any]:
    invoice_id = ctx.payload["invoice_id"]
    pre_image = ctx.payload.get("pre_image") or {}
    log.info("invoice delete received", extra={"invoice_id": invoice_id, "has_pre_image": bool(pre_image)})
    return {"handler": __name__, "invoice_id": invoice_id, "pre_image_columns": sorted(pre_image)}
