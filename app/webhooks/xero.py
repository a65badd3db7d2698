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
import re
import uuid
from typing import Any

from flask import Blueprint, Response, current_app, request
from redis.exceptions import RedisError

from app import metrics
from app.config import Settings
from app.logs import get_correlation_id, new_correlation_id, set_correlation_id
from app.queue import QUEUE_XERO, JobQueue, intake_result, xero_resource_scope
from app.webhooks import safe_json
from app.webhooks.body import read_bounded_body
from app.xero_invoice_batches import RECEIVED_AT, note_waiting
from app.xero_tenants import KEY as TENANTS_KEY

log = logging.getLogger(__name__)
blueprint = Blueprint("xero_webhook", __name__)
blueprint.after_request(metrics.webhook_answers("xero"))

# Event category -> job kind. SUBSCRIPTION and anything new are known but not ours.
CATEGORY_KINDS = {"INVOICE": "xero.invoice", "CREDITNOTE": "xero.creditnote", "CONTACT": "xero.contact"}
_REQUIRED_EVENT_FIELDS = ("resourceId", "eventCategory", "eventType", "tenantId")
_GUID_FIELDS = ("resourceId", "tenantId")
_WORD = re.compile(r"^[A-Za-z_]{1,40}$")


def signature_matches(raw_body: bytes, signature: str | None, key: str) -> bool:
    if not key or not signature:
        return False
    expected = base64.b64encode(hmac.new(key.encode(), raw_body, hashlib.sha256).digest())
    return hmac.compare_digest(expected, signature.strip().encode())


def _empty(status: int) -> Response:
    return Response(b"", status=status)


def _refusal(status: int, problem: str) -> Response:
    return Response(json.dumps({"error": problem}), status=status, mimetype="application/json")


class MalformedBatch(ValueError):
    """A correctly signed body that is not a Xero event batch; the message names the problem."""


def parse_events(raw_body: bytes) -> list[dict[str, Any]]:
    try:
        document = safe_json.loads(raw_body)
    except safe_json.UnsafeJson as exc:
        raise MalformedBatch(str(exc)) from None
    if not isinstance(document, dict) or not isinstance(document.get("events"), list):
        raise MalformedBatch("the body must be an object with an 'events' list")
    for index, event in enumerate(document["events"]):
        if not isinstance(event, dict):
            raise MalformedBatch(f"events[{index}] is not an object")
        missing = [name for name in _REQUIRED_EVENT_FIELDS if not isinstance(event.get(name), str)]
        if missing:
            raise MalformedBatch(f"events[{index}] lacks {', '.join(missing)}")
        for name in _GUID_FIELDS:
            if not _is_guid(event[name]):
                raise MalformedBatch(f"events[{index}].{name} must be a GUID")
        if not isinstance(event.get("eventDateUtc"), str | None):
            raise MalformedBatch(f"events[{index}].eventDateUtc must be text")
        for name in ("eventCategory", "eventType"):
            if not _WORD.match(event[name]):
                raise MalformedBatch(f"events[{index}].{name} must be a word such as INVOICE or UPDATE")
    return document["events"]


def _is_guid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return len(value) == 36


@blueprint.post("/webhooks/xero")
def receive_xero_events() -> Response:
    settings: Settings = current_app.config["CONNECTOR_SETTINGS"]
    jobs: JobQueue = current_app.extensions["connector.jobs"]
    set_correlation_id(new_correlation_id())

    raw = read_bounded_body(settings.max_webhook_bytes)
    if raw is None:
        return _refusal(413, f"body larger than {settings.max_webhook_bytes} bytes")
    if not signature_matches(raw, request.headers.get("x-xero-signature"), settings.xero_webhook_key):
        log.warning("xero webhook rejected: bad or missing signature", extra={"remote": request.remote_addr})
        return _empty(401)
    try:
        events = parse_events(raw)
    except MalformedBatch as exc:
        log.warning("xero webhook malformed", extra={"problem": str(exc)})
        return _refusal(400, str(exc))

    try:
        _enqueue_all(jobs, events)
    except RedisError as exc:
        # An outage, not a bug: one line naming it, no traceback.
        log.error("queue unavailable; Xero will retry the delivery", extra={"error": repr(exc)})
        return _empty(503)
    return _empty(200)


def _enqueue_all(jobs: JobQueue, events: list[dict[str, Any]]) -> None:
    """Two round trips for a whole batch: Redis's clock and the tenants' connections, then every submission."""
    if not events:
        return
    tenants = sorted({event["tenantId"].lower() for event in events})
    with jobs.redis.pipeline(transaction=False) as pipe:
        pipe.time()
        pipe.hmget(TENANTS_KEY, tenants)
        (seconds, microseconds), connections = pipe.execute()
    # The receipt time (Redis's clock) tells the job whether a batch read of its invoice is recent enough.
    received_at = seconds + microseconds / 1_000_000
    connection_of = {tenant: value.decode() for tenant, value in zip(tenants, connections, strict=True) if value}

    accepted: list[dict[str, str]] = []
    with jobs.redis.pipeline(transaction=False) as pipe:
        for event in events:
            where = _submit(jobs, pipe, event, connection_of, received_at)
            if where is not None:
                accepted.append(where)
        answers = pipe.execute() if accepted else []
    results = [intake_result(answer) for answer in answers if isinstance(answer, list)]
    for where, result in zip(accepted, results, strict=True):
        log.info("xero event accepted", extra={**where, "job_id": result.job_id, "status": result.status})


def _submit(
    jobs: JobQueue, pipe: Any, event: dict[str, Any], connection_of: dict[str, str], received_at: float
) -> dict[str, str] | None:
    category = event["eventCategory"].upper()
    tenant_id = event["tenantId"].lower()
    resource_id = event["resourceId"].lower()
    kind = CATEGORY_KINDS.get(category)
    where = {"tenant_id": tenant_id, "category": category, "resource_id": resource_id}
    if kind is None:
        log.info("xero event ignored: category not handled", extra=where)
        return None
    connection_id = connection_of.get(tenant_id)
    if connection_id is None:
        log.info("xero event ignored: unknown tenant", extra=where)
        return None
    payload = {
        **where,
        "connection_id": connection_id,
        "event_type": event["eventType"].upper(),
        "correlation_id": get_correlation_id(),
    }
    if kind == "xero.invoice":
        note_waiting(pipe, tenant_id, [resource_id])  # another job's batch read may take it along
    jobs.submit_coalesced_in(
        pipe,
        QUEUE_XERO,
        kind,
        payload,
        scope=xero_resource_scope(tenant_id, category, resource_id),
        trigger={**payload, "event_date_utc": event.get("eventDateUtc"), RECEIVED_AT: received_at},
    )
    return where
