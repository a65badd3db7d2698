"""What happened to one invoice outside Dynamics, for the admin console's timeline: the Dataverse webhooks
accepted for it and the Xero calls made while a job worked on it.

A short JSON list per invoice in Redis, capped and expiring, so a busy invoice cannot grow it and a quiet one
leaves nothing behind. Entries hold names, statuses and timings only: never a body, a token or a query string.
The webhook entries are written by the intake script (app.queue) in the event's own round trip.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from redis import Redis
from redis.exceptions import RedisError

from app.logs import get_correlation_id

log = logging.getLogger(__name__)

TIMELINE_KEPT = 50  # entries per invoice, the newest
TIMELINE_TTL_SECONDS = 14 * 24 * 3600  # from the invoice's last entry

# The invoice the running job is about (app.dispatch sets it), so the Xero gateway knows whose call it makes.
_current_invoice: ContextVar[str | None] = ContextVar("timeline_invoice", default=None)


def timeline_key(invoice_id: str) -> str:
    return f"connector:timeline:{invoice_id.lower()}"


@contextmanager
def working_on(invoice_id: str | None) -> Iterator[None]:
    """Xero calls made inside this block are recorded on the invoice's timeline (none when `invoice_id` is None)."""
    token = _current_invoice.set(invoice_id or None)
    try:
        yield
    finally:
        _current_invoice.reset(token)


def current_invoice() -> str | None:
    return _current_invoice.get()


def webhook_entry(trigger: Mapping[str, Any]) -> dict[str, Any]:
    """A Dataverse webhook as the timeline shows it; the intake script adds its status and job id."""
    return {
        "kind": "webhook",
        "at": _to_the_millisecond(trigger.get("received_at") or time.time()),
        "source": "dynamics",
        "message": trigger.get("message"),
        "table": trigger.get("entity"),
        "correlation_id": trigger.get("correlation_id"),
    }


def xero_call_entry(
    method: str, path: str, *, status: int | None, error: str | None, duration_ms: int
) -> dict[str, Any]:
    return {
        "kind": "xero",
        "at": _to_the_millisecond(time.time()),
        "method": method,
        "path": path,
        "status": status,
        "error": error,
        "duration_ms": duration_ms,
        "correlation_id": get_correlation_id(),
    }


def _to_the_millisecond(moment: float) -> float:
    """Rounded down: Redis' Lua JSON keeps 14 digits, and rounding up could put a webhook after its own job."""
    return math.floor(moment * 1000) / 1000


def record(connection: Redis, invoice_id: str, entry: Mapping[str, Any]) -> None:
    """Append one entry, keep the newest TIMELINE_KEPT and push the expiry out: one round trip."""
    key = timeline_key(invoice_id)
    with connection.pipeline(transaction=False) as pipe:
        pipe.rpush(key, json.dumps(dict(entry), default=str))
        pipe.ltrim(key, -TIMELINE_KEPT, -1)
        pipe.expire(key, TIMELINE_TTL_SECONDS)
        pipe.execute()


def record_xero_call(connection: Redis, entry: Mapping[str, Any]) -> None:
    """A Xero call on the running job's invoice, if it has one. A lost entry must never fail the call."""
    invoice_id = current_invoice()
    if not invoice_id:
        return
    try:
        record(connection, invoice_id, entry)
    except RedisError as exc:
        log.debug("xero call left off the invoice timeline", extra={"error": repr(exc)})


def entries(connection: Redis, invoice_id: str) -> list[dict[str, Any]]:
    """The invoice's entries, oldest first (an unreadable one is skipped, never evaluated)."""
    found = []
    for raw in connection.lrange(timeline_key(invoice_id), 0, -1):
        try:
            item = json.loads(raw)
        except ValueError:
            continue
        if isinstance(item, dict):
            found.append(item)
    return found
