"""React to a connection row created or changed in Dynamics (settings, a new Xero organisation).

The reference-data import and token checks it starts land with the Xero -> Dynamics flow.
"""

from __future__ import annotations

import logging
from typing import Any

from app.dispatch import JobContext

log = logging.getLogger(__name__)


def handle(ctx: JobContext) -> dict[str, Any]:
    connection_id = ctx.payload["connection_id"]
    log.info("connection change received", extra={"connection_id": connection_id})
    return {"handler": __name__, "connection_id": connection_id}
