"""Changed Xero invoices read in batches: one GET for a burst of events instead of one per event.

A burst of payments in Xero queues one `xero.invoice` job per invoice. Xero allows a tenant 60 calls a minute,
so each of those jobs reading its own invoice would spend the budget the Dynamics -> Xero sync needs. Instead:

- whoever submits a `xero.invoice` job (the webhook intake, the reconciliation) stamps its trigger with the
  receipt time (`received_at`, Redis's clock) and adds the invoice id to the tenant's *waiting* set;
- the first of those jobs to run pops up to 49 other waiting ids and reads them with its own in one call
  (`XeroGateway.get_invoices_by_ids`), keeping each other invoice as a short-lived *snapshot* stamped with the
  time the read started;
- a later job uses its invoice's snapshot, with no Xero call, only when the read started after every event that
  led to the job was received. A snapshot older than any of its events might lack the change: the job reads
  afresh (and batches again). A job with an event of unknown receipt time (a retry, a hand-written submission)
  always reads afresh.

Both stamps come from the Redis server's clock, so web and worker machines whose clocks disagree cannot make a
stale snapshot look fresh. The waiting set and the snapshots are only an economy: losing either costs calls,
never correctness, because every job still reads (or proves fresh) its own invoice.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import xero_python.accounting as accounting_models
from redis import Redis
from redis.client import Pipeline
from xero_python.accounting import Invoice
from xero_python.api_client import ModelFinder
from xero_python.api_client.deserializer import deserialize
from xero_python.api_client.serializer import serialize

from app.clients.xero import IDS_PER_READ, XeroGateway

log = logging.getLogger(__name__)

KEY_PREFIX = "connector:xero"
RECEIVED_AT = "received_at"  # the trigger field: when the event reached the connector (Redis clock, epoch s)
WAITING_TTL_SECONDS = 3600  # refreshed on every add; only ids whose jobs vanished ever wait this long
SNAPSHOT_TTL_SECONDS = 120  # the jobs of one burst run within seconds; older reads are rarely fresh enough
BATCH_SIZE = IDS_PER_READ  # one GET takes this many ids

_MODELS = ModelFinder(accounting_models)

# Keeps the newer of two reads of the same invoice: two batches may finish out of order.
_STORE_IF_NEWER = """
local current = redis.call('GET', KEYS[1])
if current then
  local stored = cjson.decode(current)
  if tonumber(stored['fetched_at']) >= tonumber(ARGV[2]) then return 0 end
end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[3])
return 1
"""

Source = Literal["snapshot", "xero"]


@dataclass(frozen=True)
class InvoiceRead:
    """One job's invoice: None when Xero does not have it; where it came from; how many ids its read took."""

    invoice: Invoice | None
    source: Source
    batch_size: int = 0


def waiting_key(tenant_id: str) -> str:
    return f"{KEY_PREFIX}:waiting-invoices:{tenant_id.lower()}"


def snapshot_key(tenant_id: str, invoice_id: str) -> str:
    return f"{KEY_PREFIX}:invoice-snapshot:{tenant_id.lower()}:{invoice_id.lower()}"


def redis_now(redis: Redis) -> float:
    """The Redis server's clock, shared by every web and worker process."""
    seconds, microseconds = redis.time()
    return seconds + microseconds / 1_000_000


def note_waiting(redis: Redis | Pipeline, tenant_id: str, invoice_ids: Iterable[str]) -> None:
    """`xero.invoice` jobs for these invoices have been submitted: the next batch read may take them along.
    Given a pipeline (the webhook's batch), the commands join it."""
    ids = [invoice_id.lower() for invoice_id in invoice_ids]
    if not ids:
        return
    key = waiting_key(tenant_id)
    if isinstance(redis, Pipeline):
        redis.sadd(key, *ids)
        redis.expire(key, WAITING_TTL_SECONDS)
        return
    with redis.pipeline(transaction=False) as pipe:
        pipe.sadd(key, *ids)
        pipe.expire(key, WAITING_TTL_SECONDS)
        pipe.execute()


def latest_receipt(triggers: Iterable[Mapping[str, Any]]) -> float | None:
    """When the newest event behind a job was received; None when any of them (or all) lack a receipt time."""
    times = []
    for trigger in triggers:
        value = trigger.get(RECEIVED_AT)
        if not isinstance(value, int | float):
            return None
        times.append(float(value))
    return max(times, default=None)


def read_invoice(
    redis: Redis, xero: XeroGateway, invoice_id: str, triggers: Iterable[Mapping[str, Any]]
) -> InvoiceRead:
    """The invoice as it is since the job's events: its snapshot when fresh enough, else a batched read."""
    tenant_id = xero.tenant_id.lower()
    invoice_id = invoice_id.lower()
    redis.srem(waiting_key(tenant_id), invoice_id)  # this job reads it now, one way or the other
    received = latest_receipt(triggers)
    if received is not None:
        snapshot = load_snapshot(redis, tenant_id, invoice_id)
        if snapshot is not None and snapshot[0] > received:
            log.info("xero invoice taken from a batch read", extra={"xero_invoice_id": invoice_id})
            return InvoiceRead(snapshot[1], "snapshot")
    return _read_batch(redis, xero, tenant_id, invoice_id)


def _read_batch(redis: Redis, xero: XeroGateway, tenant_id: str, invoice_id: str) -> InvoiceRead:
    others = [raw.decode() for raw in redis.spop(waiting_key(tenant_id), BATCH_SIZE - 1) or []]
    wanted = [invoice_id, *(other for other in others if other != invoice_id)]
    started = redis_now(redis)  # before the request: the read shows at least what Xero had by then
    try:
        found = xero.get_invoices_by_ids(wanted)
    except Exception:
        note_waiting(redis, tenant_id, wanted[1:])  # their own jobs may still share a later read
        raise
    by_id = {str(invoice.invoice_id).lower(): invoice for invoice in found}
    for other_id in wanted[1:]:
        if other_id in by_id:
            store_snapshot(redis, tenant_id, other_id, by_id[other_id], started)
    log.info("xero invoices read in one batch", extra={"xero_invoice_id": invoice_id, "batch_size": len(wanted)})
    return InvoiceRead(by_id.get(invoice_id), "xero", len(wanted))


def store_snapshot(redis: Redis, tenant_id: str, invoice_id: str, invoice: Invoice, fetched_at: float) -> bool:
    """Keep a read of the invoice (the SDK's own wire form) unless a newer read is already kept."""
    body = json.dumps({"fetched_at": fetched_at, "invoice": serialize(invoice)})
    stored = redis.eval(
        _STORE_IF_NEWER, 1, snapshot_key(tenant_id, invoice_id), body, repr(fetched_at), SNAPSHOT_TTL_SECONDS
    )
    return bool(stored)


def load_snapshot(redis: Redis, tenant_id: str, invoice_id: str) -> tuple[float, Invoice] | None:
    """(when the read started, the invoice) or None."""
    raw = redis.get(snapshot_key(tenant_id, invoice_id))
    if raw is None:
        return None
    stored = json.loads(raw)
    return float(stored["fetched_at"]), deserialize("Invoice", stored["invoice"], _MODELS)
