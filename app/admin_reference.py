"""`POST /admin/reference-data`: queue the import of Xero reference data into Dynamics (admin only).

Body `{"connection_id": "<guid>"}` imports one connection; an empty body, `{}` or `{"all": true}` queues the
job that imports every connection with a Xero organisation and a stored token. Answers 202 with the job ids
(an import already waiting for the same connection is joined, not repeated). Only Redis is touched here: the
workers do the reading and writing.
"""

from __future__ import annotations

import uuid
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request

from app.admin_auth import admin_required
from app.queue import JobQueue
from app.reference_data import submit_import, submit_import_all

blueprint = Blueprint("admin_reference", __name__)


def _bad_request(message: str) -> tuple[Response, int]:
    return jsonify({"error": message}), 400


@blueprint.post("/admin/reference-data")
@admin_required
def queue_reference_data() -> tuple[Response, int]:
    body: Any = request.get_json(silent=True) if request.content_length else {}
    if not isinstance(body, dict):
        return _bad_request('send a JSON object: {"connection_id": "<guid>"} or {"all": true}')
    jobs: JobQueue = current_app.extensions["connector.jobs"]
    trigger = {"requested_by": "admin endpoint", "remote_addr": request.remote_addr}
    connection_id = body.get("connection_id")
    if connection_id is None:
        if body.get("all", True) is not True:
            return _bad_request('name a connection_id, or send {"all": true}')
        queued = submit_import_all(jobs, trigger=trigger)
        return jsonify({"scope": "all", "job_ids": [queued.job_id], "status": queued.status}), 202
    try:
        connection_id = str(uuid.UUID(str(connection_id)))
    except ValueError:
        return _bad_request("connection_id must be the connection row's id (a GUID)")
    queued = submit_import(jobs, connection_id, trigger=trigger)
    return jsonify({"connection_id": connection_id, "job_ids": [queued.job_id], "status": queued.status}), 202
