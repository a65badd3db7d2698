"""POST /webhooks/dataverse: authenticate, parse, route, enqueue, answer. Nothing remote but Redis.

Dataverse waits 60 s and retries once, only on 502/503/504, so: a caller's mistake gets a 4xx naming it, a
Redis outage gets 503 (the one retry may land), and an accepted event is in Redis before we answer 202.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request
from redis.exceptions import RedisError

from app import metrics
from app.config import Settings
from app.connection_rows import ConnectionRowCache
from app.connector_identity import connector_user
from app.events import DataverseEvent
from app.logs import new_correlation_id, set_correlation_id
from app.queue import QUEUE_DATAVERSE, QUEUE_MAINTENANCE, EnqueueResult, JobQueue, invoice_scope
from app.webhooks.auth import matches_any
from app.webhooks.body import read_bounded_body
from app.webhooks.dataverse_context import MalformedContext, parse_context
from app.webhooks.dataverse_routing import (
    ConnectionChanged,
    DeleteInvoice,
    Ignore,
    ResolveLineParent,
    Route,
    SyncInvoice,
    route_event,
)

log = logging.getLogger(__name__)
blueprint = Blueprint("dataverse_webhook", __name__)
blueprint.after_request(metrics.webhook_answers("dataverse"))


def _error(status: int, message: str, **extra: Any) -> tuple[Response, int]:
    return jsonify({"error": message, **extra}), status


@blueprint.post("/webhooks/dataverse")
def receive_dataverse_event() -> tuple[Response, int]:
    settings: Settings = current_app.config["CONNECTOR_SETTINGS"]
    jobs: JobQueue = current_app.extensions["connector.jobs"]
    correlation_id = request.headers.get("x-ms-correlation-request-id") or new_correlation_id()
    set_correlation_id(correlation_id)

    # WebhookKey auth sends ?code=, HttpHeader auth sends the configured header; either will do.
    offered = request.args.get("code") or request.headers.get(settings.dataverse_webhook_header)
    if not matches_any(offered, settings.dataverse_webhook_secrets):
        log.warning("dataverse webhook rejected: missing or wrong key", extra={"remote": request.remote_addr})
        return _error(401, "missing or wrong webhook key")

    body = read_bounded_body(settings.max_webhook_bytes)
    if body is None:
        return _error(413, f"body larger than {settings.max_webhook_bytes} bytes")

    try:
        event = parse_context(body, request.headers)
    except MalformedContext as exc:
        log.warning("dataverse webhook malformed", extra={"problem": str(exc)})
        return _error(400, str(exc))

    try:
        own_user = connector_user(settings.connector_user_id, jobs.redis)
    except RedisError as exc:
        # An outage, not a bug: one line naming it, no traceback.
        log.error("queue unavailable; asking Dataverse to retry", extra={"error": repr(exc)})
        return _unavailable()
    route = route_event(event, own_user)
    if isinstance(route, Ignore):
        log.info(
            "dataverse event ignored",
            extra={
                "entity": event.entity,
                "dv_message": event.message,
                "record_id": event.record_id,
                "reason": route.reason,
            },
        )
        return jsonify({"status": "ignored", "reason": route.reason}), 200

    try:
        result = _submit(jobs, route, event, correlation_id, _delivery_key(event))
    except RedisError as exc:
        # An outage, not a bug: one line naming it, no traceback.
        log.error("queue unavailable; asking Dataverse to retry", extra={"error": repr(exc)})
        return _unavailable()
    if result.status == "duplicate":
        log.info("dataverse event redelivered", extra={"operation_id": event.operation_id, "job_id": result.job_id})
        return jsonify({"status": "duplicate", "job_id": result.job_id}), 200

    log.info(
        "dataverse event accepted",
        extra={
            "entity": event.entity,
            "dv_message": event.message,
            "record_id": event.record_id,
            "job_id": result.job_id,
            "status": result.status,
        },
    )
    return jsonify({"status": result.status, "job_id": result.job_id}), 202


def _unavailable() -> tuple[Response, int]:
    response, status = _error(503, "queue unavailable, retry later")
    response.headers["Retry-After"] = "5"
    return response, status


def _delivery_key(event: DataverseEvent) -> str | None:
    """Same system job, message and row = the same delivery (Dataverse's retry, or a relay's)."""
    if not event.operation_id:
        return None
    return f"{event.operation_id}:{event.message}:{event.entity}:{event.record_id}"


def _submit(
    jobs: JobQueue, route: Route, event: DataverseEvent, correlation_id: str, delivery: str | None
) -> EnqueueResult:
    org = event.organization_id
    trigger = {
        "message": event.message,
        "entity": event.entity,
        "record_id": event.record_id,
        "operation_id": event.operation_id,
        "correlation_id": correlation_id,
        "initiating_user_id": event.initiating_user_id,
        "received_at": time.time(),
        # When the user saved in Dynamics: where the end-to-end latency to Xero counts from.
        "operation_created_on": event.operation_created_on.isoformat() if event.operation_created_on else None,
    }
    base = {"organization_id": org, "correlation_id": correlation_id}
    match route:
        case SyncInvoice(invoice_id):
            return jobs.submit_coalesced(
                QUEUE_DATAVERSE,
                "invoice.sync",
                {**base, "invoice_id": invoice_id},
                scope=invoice_scope(org, invoice_id),
                trigger=trigger,
                delivery_key=delivery,
                timeline_invoice=invoice_id,
            )
        case DeleteInvoice(invoice_id, pre_image):
            payload = {**base, "invoice_id": invoice_id, "pre_image": pre_image, "trimmed": event.trimmed}
            return jobs.submit(
                QUEUE_DATAVERSE,
                "invoice.delete",
                payload,
                trigger=trigger,
                lock_scope=invoice_scope(org, invoice_id),
                delivery_key=delivery,
                timeline_invoice=invoice_id,
            )
        case ResolveLineParent(line_id, deleted):
            return jobs.submit(
                QUEUE_DATAVERSE,
                "invoicedetail.resolve_parent",
                {**base, "line_id": line_id, "deleted": deleted},
                trigger=trigger,
                delivery_key=delivery,
            )
        case ConnectionChanged(connection_id, deleted):
            # Workers keep connection rows for a short while; the row's own event ends that at once.
            ConnectionRowCache(jobs.redis).forget(connection_id)
            return jobs.submit_coalesced(
                QUEUE_MAINTENANCE,
                "connection.changed",
                {**base, "connection_id": connection_id, "deleted": deleted},
                scope=f"connection:{org}:{connection_id}",
                trigger=trigger,
                delivery_key=delivery,
            )
    raise AssertionError(f"unrouted {route!r}")  # pragma: no cover - the match above is exhaustive
