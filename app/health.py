"""GET /healthz (the process answers) and GET /readyz (Redis answers; queue depths and what is waiting)."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify
from redis.exceptions import RedisError

from app import waiting
from app.queue import JobQueue

blueprint = Blueprint("health", __name__)


@blueprint.get("/healthz")
def healthz() -> tuple[Response, int]:
    return jsonify({"status": "ok"}), 200


@blueprint.get("/readyz")
def readyz() -> tuple[Response, int]:
    jobs: JobQueue = current_app.extensions["connector.jobs"]
    try:
        jobs.redis.ping()
        depths = jobs.depths()
        held = waiting.summary(jobs.redis)
    except RedisError as exc:
        return jsonify({"status": "unavailable", "redis": f"unreachable ({type(exc).__name__})"}), 503
    # "queues": jobs ready to run; "waiting": also running, retrying, deferred and failed, per queue and connection
    return jsonify({"status": "ready", "redis": "ok", "queues": depths, "waiting": held}), 200
