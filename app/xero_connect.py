"""Connecting Xero organisations: the admin's browser flow, custom connections and disconnecting.

- `GET /xero/connect` (admin): redirect to Xero's consent page with a single-use `state` (10 minutes).
- `GET /xero/callback?code&state`: check the state, exchange the code, list the organisations; one -> connect it,
  several -> a page to choose one (`POST /xero/callback/choose` with its own single-use token).
- `POST /xero/connect` (admin, `XERO_CUSTOM_CONNECTION=true`): connect the one organisation the client
  credentials grant, without a browser step.
- `POST /xero/disconnect/<connection_id>` (admin): revoke at Xero, forget the tokens, mark the row Disconnected.

The callback and the choice are not behind the admin password: Xero's redirect may arrive without it, and the
single-use state (which only an authenticated admin can obtain) is what ties them to the admin. What connecting
and disconnecting do is in app/xero_connect_flow.py.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING

from flask import Blueprint, Response, current_app, redirect, request, url_for

from app import xero_connect_pages as pages
from app.admin_auth import admin_required, same_origin
from app.config import ConfigError, Settings
from app.errors import ConnectionLost, ConnectorError, Retryable
from app.queue import JobQueue

if TYPE_CHECKING:
    from app.xero_connect_flow import XeroConnector

log = logging.getLogger(__name__)
blueprint = Blueprint("xero_connect", __name__)

EXPIRED_TEXT = (
    "This link is unknown, expired or was already used. Start again from /xero/connect "
    "(each attempt is valid once, for 10 minutes)."
)


class NotConfigured(Exception):
    pass


def xero_connector() -> XeroConnector:
    # Imported on first use: the Xero SDK and clients would otherwise slow every web process's start.
    from app.services import services_for
    from app.xero_connect_flow import XeroConnector

    jobs: JobQueue = current_app.extensions["connector.jobs"]
    try:
        services = services_for(jobs.redis)
    except (ConfigError, ConnectorError) as exc:
        raise NotConfigured(getattr(exc, "user_message", str(exc))) from None
    if services is None:
        raise NotConfigured("Dynamics and Xero are not configured for this connector (DATAVERSE_URL, XERO_CLIENT_ID).")
    return XeroConnector(jobs.redis, services.dataverse, services.xero, jobs)


def _guarded(action: Callable[[XeroConnector], Response]) -> Response:
    """Runs one step of the flow and turns its failures into a page a person can act on."""
    from app.xero_connect_flow import Expired

    try:
        return action(xero_connector())
    except NotConfigured as exc:
        return pages.message("Xero is not configured", str(exc), 503)
    except Expired:
        return pages.message("Link expired", EXPIRED_TEXT, 400)
    except ConnectionLost as exc:
        log.warning("xero refused the authorisation", extra={"detail": str(exc)})
        return pages.message(
            "Xero refused the authorisation", f"{exc.user_message} Start again from /xero/connect.", 400
        )
    except Retryable as exc:
        log.warning("xero connect step could not complete", extra={"detail": str(exc)})
        return pages.message("Try again", f"{exc.user_message} The step did not complete; try again in a moment.", 502)
    except ConnectorError as exc:
        log.warning("xero connect step failed", extra={"detail": str(exc)})
        return pages.message("Could not connect Xero", exc.user_message, 502)


def _cross_site() -> Response:
    return pages.message("Refused", "This request came from another site.", 403)


@blueprint.get("/xero/connect")
@admin_required
def start() -> Response:
    def begin(connector: XeroConnector) -> Response:
        if connector.xero.settings.custom_connection:
            return pages.message(
                "Custom connection",
                "This connector uses a Xero custom connection: POST to "
                "/xero/connect to connect its organisation (no consent page is involved).",
                400,
            )
        settings: Settings = current_app.config["CONNECTOR_SETTINGS"]
        redirect_uri = settings.xero_redirect_uri or url_for("xero_connect.callback", _external=True)
        state = connector.steps().new_state(redirect_uri)
        return redirect(connector.endpoint.authorization_url(redirect_uri, state), code=302)

    return _guarded(begin)


@blueprint.post("/xero/connect")
@admin_required
def connect_custom() -> Response:
    if not same_origin():
        return _cross_site()

    def run(connector: XeroConnector) -> Response:
        if not connector.xero.settings.custom_connection:
            return pages.message(
                "Not a custom connection",
                "This connector connects through Xero's consent page: open /xero/connect in a browser.",
                400,
            )
        return pages.connected(connector.connect_custom())

    return _guarded(run)


@blueprint.get("/xero/callback")
def callback() -> Response:
    def finish(connector: XeroConnector) -> Response:
        from app.xero_connect_flow import organisations

        steps = connector.steps()
        redirect_uri = steps.take_state(request.args.get("state"))
        if request.args.get("error"):
            return pages.message(
                "Xero did not connect", f"Xero answered: {request.args['error']}. Nothing was connected.", 400
            )
        code = request.args.get("code")
        if not code:
            return pages.message("Xero did not connect", "Xero sent no authorisation code.", 400)
        tokens = connector.endpoint.exchange_code(code, redirect_uri)
        found = organisations(connector.endpoint.tenants(tokens))
        if not found:
            return pages.message("No organisation", "The consent covers no Xero organisation.", 400)
        if len(found) == 1:
            return pages.connected(connector.connect(tokens, found[0]))
        choice = steps.park_choice(tokens, found)
        return pages.choose(choice, found, url_for("xero_connect.choose"))

    return _guarded(finish)


@blueprint.post("/xero/callback/choose")
def choose() -> Response:
    def finish(connector: XeroConnector) -> Response:
        tokens, offered = connector.steps().take_choice(request.form.get("choice"))
        wanted = (request.form.get("tenant_id") or "").lower()
        tenant = next((t for t in offered if t.tenant_id == wanted), None)
        if tenant is None:
            return pages.message("Unknown organisation", "That organisation was not offered. " + EXPIRED_TEXT, 400)
        return pages.connected(connector.connect(tokens, tenant))

    return _guarded(finish)


@blueprint.post("/xero/disconnect/<connection_id>")
@admin_required
def disconnect(connection_id: str) -> Response:
    if not same_origin():
        return _cross_site()

    unknown = pages.message("Unknown connection", "No Xero connection with this id exists in Dynamics.", 404)
    try:
        row_id = str(uuid.UUID(connection_id))
    except ValueError:
        return unknown

    def run(connector: XeroConnector) -> Response:
        try:
            name = connector.disconnect(row_id)
        except LookupError:
            return unknown
        return pages.disconnected(name)

    return _guarded(run)
