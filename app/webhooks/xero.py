"""POST /webhooks/xero: check the signature over the raw bytes, then enqueue one job per changed resource.

Xero signs with base64(HMAC-SHA256(webhook key, raw body)), pretty-prints the body and expects an answer within
5 seconds with an empty body. Intent to receive sends correctly and wrongly signed empty batches: 200 for the
first, 401 for the second. The signature is checked before anything is parsed (the intent-to-receive body is
not even valid against Xero's own schema). Events are thin: the job re-reads the resource from Xero.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
from typing import Any

from flask import Blueprint, Response, current_app, request
from redis.exceptions import RedisError

from app import metrics
from app.config import Settings
from app.logs import get_correlation_id, new_correlation_id, set_correlation_id
from app.queue import QUEUE_XERO, JobQueue, xero_resource_scope
from app.webhooks.body import read_bounded_body
from app.xero_invoice_batches import RECEIVED_AT, note_waiting, redis_now
from app.xero_tenants import connection_for_tenant

log = logging.getLogger(__name__)
blueprint = Blueprint("xero_webhook", __name__)
blueprint.after_request(metrics.webhook_answers("xero"))

# Event category -> job kind. SUBSCRIPTION and anything new are known but not ours.
CATEGORY_KINDS = {"INVOICE": "xero.invoice", "CREDITNOTE": "xero.creditnote", "CONTACT": "xero.contact"}
_REQUIRED_EVENT_FIELDS = ("resourceId", "eventCategory", "eventType", "tenantId")


def signature_matches(raw_body: bytes, signature: str | None, key: str) -> bool:
    if not key or not signature:
        return False
    expected = base64.b64encode(hmac.new(key.encode(), raw_body, hashlib.sha256).digest())
    return hmac.compare_digest(expected, signature.strip().encode())


def _empty(status: int) -> Response:
    return Response(b"", status=status)


class MalformedBatch(ValueError):
    """A correctly signed body that is not a Xero event batch; the message names the problem."""


def parse_events(raw_body: bytes) -> list[dict[str, Any]]:
    try:
        document = json.loads(raw_body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MalformedBatch(f"the body is not valid JSON ({exc})") from exc
    except RecursionError:
        raise MalformedBatch("the body nests deeper than any Xero event batch does") from None
    if not isinstance(document, dict) or not isinstance(document.get("events"), list):
        raise MalformedBatch("the body must be an object with an 'events' list")
    for index, event in enumerate(document["events"]):
        if not isinstance(event, dict):
            raise MalformedBatch(f"events[{index}] is not an object")
        missing = [name for name in _REQUIRED_EVENT_FIELDS if not isinstance(event.get(name), str)]
        if missing:
            raise MalformedBatch(f"events[{index}] lacks {', '.join(missing)}")
    return document["events"]


@blueprint.post("/webhooks/xero")
def receive_xero_events() -> Response:
    settings: Settings = current_app.config["CONNECTOR_SETTINGS"]
    jobs: JobQueue = current_app.extensions["connector.jobs"]
    set_correlation_id(new_correlation_id())

    raw = read_bounded_body(settings.max_webhook_bytes)
    if raw is None:
        return _empty(413)
    if not signature_matches(raw, request.headers.get("x-xero-signature"), settings.xero_webhook_key):
        log.warning("xero webhook rejected: bad or missing signature", extra={"remote": request.remote_addr})
        return _empty(401)
    try:
        events = parse_events(raw)
    except MalformedBatch as exc:
        log.warning("xero webhook malformed", extra={"problem": str(exc)})
        return Response(json.dumps({"error": str(exc)}), status=400, mimetype="application/json")

    try:
        received_at = redis_now(jobs.redis) if events else 0.0
        for event in events:
            _enqueue(jobs, event, received_at)
    except RedisError as exc:
        # An outage, not a bug: one line naming it, no traceback.
        log.error("queue unavailable; Xero will retry the delivery", extra={"error": repr(exc)})
        return _empty(503)
    return _empty(200)


def _enqueue(jobs: JobQueue, event: dict[str, Any], received_at: float) -> None:
    category = event["eventCategory"].upper()
    tenant_id = event["tenantId"].lower()
    resource_id = event["resourceId"].lower()
    kind = CATEGORY_KINDS.get(category)
    where = {"tenant_id": tenant_id, "category": category, "resource_id": resource_id}
    if kind is None:
        log.info("xero event ignored: category not handled", extra=where)
        return
    connection_id = connection_for_tenant(jobs.redis, tenant_id)
    if connection_id is None:
        log.info("xero event ignored: unknown tenant", extra=where)
        return
    payload = {
        **where,
        "connection_id": connection_id,
        "event_type": event["eventType"].upper(),
        "correlation_id": get_correlation_id(),
    }
    scope = xero_resource_scope(tenant_id, category, resource_id)
    if kind == "xero.invoice":
        note_waiting(jobs.redis, tenant_id, [resource_id])  # another job's batch read may take it along
    # The receipt time (Redis's clock) tells the job whether a batch read of its invoice is recent enough.
    result = jobs.submit_coalesced(
        QUEUE_XERO,
        kind,
        payload,
        scope=scope,
        trigger={**payload, "event_date_utc": event.get("eventDateUtc"), RECEIVED_AT: received_at},
    )
    log.info("xero event accepted", extra={**where, "job_id": result.job_id, "status": result.status})
