"""Xero's webhook echoes of the connector's own writes, recognised without asking Xero again.

When the connector creates or updates an invoice (or a credit note), Xero's answer is the document's new
state, and the flow that wrote it records that state in Dynamics. Moments later Xero sends an event for the
same change. Reading the document again for it would spend one of the organisation's 60 calls a minute on a
state the connector already holds.

So every write remembers, per Xero invoice, Xero's answer (`UpdatedDateUTC`, status, contact) and counts one
echo to come. A job whose events are no more than the echoes still to come, each dated no later than the last
write's `UpdatedDateUTC` plus `ECHO_WINDOW` (Xero stamps the event a moment after the change), is taken as
the echo and costs no Xero call; it uses those echoes up. Anything else reads Xero as before: one event more
than the writes (someone approved or paid it meanwhile, even within the window), a later event, or one
without an event date (a retry, the reconciliation). When a change by someone else is taken for an echo
because its own event came first, the echo that follows finds nothing left to use up and reads Xero, so the
last word is always a read; and the reconciliation reads every invoice Xero changed since its checkpoint.
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

# One more echo to come; the later of two writes' states is kept (answers may be recorded out of order).
# KEYS: the invoice's key; ARGV: state JSON (without pending), updated (epoch s), ttl
_REMEMBER = """
local current = redis.call('GET', KEYS[1])
local state = cjson.decode(ARGV[1])
local pending = 1
if current then
  local stored = cjson.decode(current)
  pending = (tonumber(stored['pending']) or 0) + 1
  if tonumber(stored['updated']) >= tonumber(ARGV[2]) then state = stored end
end
state['pending'] = pending
redis.call('SET', KEYS[1], cjson.encode(state), 'EX', ARGV[3])
return pending
"""

# Use up `count` echoes when that many are still to come and the newest event is within the window.
# KEYS: the invoice's key; ARGV: count, newest event (epoch s), window (s)
_CONSUME = """
local current = redis.call('GET', KEYS[1])
if not current then return false end
local stored = cjson.decode(current)
local pending = tonumber(stored['pending']) or 0
if pending < tonumber(ARGV[1]) then return false end
if tonumber(ARGV[2]) > tonumber(stored['updated']) + tonumber(ARGV[3]) then return false end
stored['pending'] = pending - tonumber(ARGV[1])
redis.call('SET', KEYS[1], cjson.encode(stored), 'KEEPTTL')
return current
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
    """Xero's answer to one of the connector's writes (an Invoice or a CreditNote): its id, `updated_date_utc`,
    status and contact."""
    document_id = getattr(document, "invoice_id", None) or getattr(document, "credit_note_id", None)
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
    redis.eval(_REMEMBER, 1, _key(tenant_id, str(document_id)), body, repr(moment), TTL_SECONDS)


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
    newest = max(t.timestamp() for t in times if t is not None)
    raw = redis.eval(_CONSUME, 1, _key(tenant_id, document_id), len(times), repr(newest), ECHO_WINDOW.total_seconds())
    if not raw:
        return None
    stored = json.loads(raw)
    return OwnWrite(
        updated=datetime.fromtimestamp(float(stored["updated"]), tz=UTC),
        status=stored.get("status"),
        contact_id=stored.get("contact_id"),
    )
