"""A contact changed in Xero: its outstanding and overdue balances into the Dynamics account or contact."""

from __future__ import annotations

from typing import Any

from handlers.contact_balances import refresh_balances
from handlers.xero_writeback import XeroEventContext


def run(event: XeroEventContext, resource_id: str) -> dict[str, Any]:
    return {"result": "balances", **refresh_balances(event, resource_id)}
