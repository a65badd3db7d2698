"""Sandbox-only administration under `/_sandbox/` (no auth: the sandbox listens on loopback)."""

from __future__ import annotations

import uuid

from flask import Blueprint, Response, request

from sandbox.dataverse.errors import bad_request
from sandbox.dataverse.web import current_sandbox, json_body, respond

admin = Blueprint("sandbox_admin", __name__, url_prefix="/_sandbox")


@admin.post("/reset")
def admin_reset() -> Response:
    sandbox = current_sandbox()
    sandbox.reset()
    return respond({"reset": True})


@admin.route("/service-protection", methods=["GET", "PUT", "POST"])
def admin_budget() -> Response:
    sandbox = current_sandbox()
    if request.method != "GET":
        body = json_body()
        budget = body.get("budget")
        if budget is not None and (not isinstance(budget, int) or budget < 0):
            raise bad_request("budget must be a non-negative integer or null.")
        sandbox.budget.configure(budget, body.get("window_seconds"), body.get("retry_after_seconds"))
    return respond(
        {
            "budget": sandbox.budget.budget,
            "window_seconds": sandbox.budget.window_seconds,
            "retry_after_seconds": sandbox.budget.retry_after_seconds,
        }
    )


@admin.route("/requests", methods=["GET", "DELETE"])
def admin_requests() -> Response:
    """Web API requests received per "METHOD resource" (a $batch counts once); DELETE also clears them."""
    sandbox = current_sandbox()
    return respond({"value": sandbox.request_counts(clear=request.method == "DELETE")})


@admin.get("/webhooks/deliveries")
def admin_deliveries() -> Response:
    sandbox = current_sandbox()
    return respond({"value": [d.summary() for d in list(sandbox.dispatcher.deliveries)]})


@admin.post("/webhooks/wait")
def admin_wait() -> Response:
    sandbox = current_sandbox()
    timeout = float(request.args.get("timeout", "30"))
    return respond({"idle": sandbox.wait_for_webhooks(timeout)})


@admin.get("/health")
def admin_health() -> Response:
    return respond({"status": "ok"})


@admin.post("/users")
def admin_add_user() -> Response:
    """Add a user and its bearer token: {"token", "firstname", "lastname", "admin": false, "systemuserid"?}."""
    sandbox = current_sandbox()
    body = json_body()
    token, lastname = body.get("token"), body.get("lastname")
    if not isinstance(token, str) or not token or not isinstance(lastname, str) or not lastname:
        raise bad_request("token and lastname are required.")
    if token in sandbox.tokens:
        raise bad_request("That token is already in use.")
    user_id = body.get("systemuserid") or str(uuid.uuid4())
    with sandbox.store.lock:
        if sandbox.store.get("systemuser", user_id) is not None:
            raise bad_request("A user with that systemuserid already exists.")
        sandbox.records.insert_system(
            "systemuser",
            {"systemuserid": user_id, "firstname": body.get("firstname"), "lastname": lastname, "accessmode": 0},
        )
    sandbox.tokens[token] = user_id
    if body.get("admin"):
        sandbox.admins.add(user_id)
    return respond({"systemuserid": user_id, "token": token, "admin": bool(body.get("admin"))}, 201)
