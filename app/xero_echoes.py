"""Xero's webhook echoes of the connector's own writes, recognised without asking Xero again.

When the connector creates or updates an invoice, Xero's answer is the invoice's new state, and the sync writes
that state back to Dynamics. Moments later Xero sends an INVOICE event for the same change. Reading the invoice
again for it would spend one of the organisation's 60 calls a minute on a state the connector already holds.

So every write remembers, per Xero invoice, the `UpdatedDateUTC` of Xero's answer (with its status and contact).
An event whose `eventDateUtc` is no later than that, plus `ECHO_WINDOW` (Xero stamps the event a moment after
the change), is the echo: it costs no Xero call. Any event later than that, or one without an event date (a
retry, the reconciliation), reads Xero as before. A change by someone else inside the window is still found by
the reconciliation, which reads every invoice Xero changed since its checkpoint.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from redis import Redis

KEY_PREFIX = "connector:xero:written"
ECHO_WINDOW = timedelta(seconds=2)
TTL_SECONDS = 3600  # Xero delivers webhooks within minutes; older memories are of no use

# Keeps the later of two writes' states: two answers may be recorded out of order.
_KEEP_LATEST = """
local current = redis.call('GET', KEYS[1])
if current and tonumber(cjson.decode(current)['updated']) >= tonumber(ARGV[2]) then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[3])
return 1
"""


@dataclass(frozen=True)
class OwnWrite:
    updated: datetime
    status: str | None
    contact_id: str | None


def _key(tenant_id: str, document_id: str) -> str:
    return f"{KEY_PREFIX}:{tenant_id.lower()}:{document_id.lower()}"


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def remember_write(redis: Redis, tenant_id: str, document: Any) -> None:
    """Xero's answer to one of the connector's writes (an Invoice): its id, `updated_date_utc`, status, contact."""
    document_id = getattr(document, "invoice_id", None)
    updated = getattr(document, "updated_date_utc", None)
    if not document_id or not isinstance(updated, datetime):
        return
    contact_id = getattr(getattr(document, "contact", None), "contact_id", None)
    moment = _utc(updated).timestamp()
    body = json.dumps(
        {
            "updated": moment,
            "status": getattr(document, "status", None),
            "contact_id": str(contact_id) if contact_id else None,
        }
    )
    redis.eval(_KEEP_LATEST, 1, _key(tenant_id, str(document_id)), body, repr(moment), TTL_SECONDS)


def _event_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return _utc(datetime.fromisoformat(value.replace("Z", "+00:00")))
    except ValueError:
        return None


def own_write_echo(
    redis: Redis, tenant_id: str, document_id: str, triggers: Iterable[Mapping[str, Any]]
) -> OwnWrite | None:
    """The connector's own write when every event behind the job is its echo; None when Xero must be read."""
    times = [_event_time(trigger.get("event_date_utc")) for trigger in triggers]
    if not times or any(t is None for t in times):
        return None
    raw = redis.get(_key(tenant_id, document_id))
    if raw is None:
        return None
    stored = json.loads(raw)
    written = OwnWrite(
        updated=datetime.fromtimestamp(float(stored["updated"]), tz=UTC),
        status=stored.get("status"),
        contact_id=stored.get("contact_id"),
    )
    if all(t is not None and t <= written.updated + ECHO_WINDOW for t in times):
        return written
    return None
