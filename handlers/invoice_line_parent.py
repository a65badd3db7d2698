"""Find the parent invoice of a changed invoice line whose event did not name it, then sync that invoice.

An Update of a line carries only the changed columns, so without a registered image the parent is unknown at
intake (which never calls Dataverse). Reading the line's `_invoiceid_value` lands with the Dataverse client.
"""

from __future__ import annotations

import logging
from typing import Any

from app.dispatch import JobContext

log = logging.getLogger(__name__)


def handle(ctx: JobContext) -> dict[str, Any]:
    line_id = ctx.payload["line_id"]
    log.info("invoice line without parent received", extra={"line_id": line_id})
    return {"handler": __name__, "line_id": line_id}
