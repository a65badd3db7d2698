"""Identity endpoints: authorize page, token and revocation endpoints, and the connections list."""

from __future__ import annotations

import base64
import datetime as dt
import html
from urllib.parse import urlencode

from flask import Blueprint, Response, redirect, request

from sandbox.xero.errors import oauth_error, problem
from sandbox.xero.identity import KNOWN_SCOPES, Client, Grant, OAuthError
from sandbox.xero.web import json_response, sandbox_state

bp = Blueprint("xero_identity", __name__)


def _iso(seconds: float) -> str:
    """Identity dates are ISO 8601 without a zone, seven fraction digits, as Xero writes them."""
    return dt.datetime.fromtimestamp(seconds, tz=dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "0"


def _bearer_grant() -> Grant | Response:
    st = sandbox_state()
    header = request.headers.get("Authorization", "")
    token = header[7:].strip() if header[:7].lower() == "bearer " else ""
    grant, reason = st.identity.grant_for_access_token(token) if token else (None, "AuthenticationUnsuccessful")
    if grant is None:
        return json_response(problem(401, "Unauthorized", reason), 401)
    return grant


def _connections(grant: Grant) -> list[dict[str, object]]:
    st = sandbox_state()
    return [
        {
            "id": connection_id,
            "authEventId": grant.auth_event_id,
            "tenantId": tenant_id,
            "tenantType": "ORGANISATION",
            "tenantName": st.tenants[tenant_id].name,
            "createdDateUtc": _iso(grant.created_at),
            "updatedDateUtc": _iso(grant.created_at),
        }
        for connection_id, tenant_id in grant.connections.items()
        if tenant_id in st.tenants
    ]


@bp.route("/connections", methods=["GET"])
@bp.route("/Connections", methods=["GET"])
def list_connections() -> Response:
    with sandbox_state().lock:
        grant = _bearer_grant()
        if isinstance(grant, Response):
            return grant
        return json_response(_connections(grant))


@bp.route("/connections/<connection_id>", methods=["DELETE"])
@bp.route("/Connections/<connection_id>", methods=["DELETE"])
def delete_connection(connection_id: str) -> Response:
    with sandbox_state().lock:
        grant = _bearer_grant()
        if isinstance(grant, Response):
            return grant
        if grant.connections.pop(connection_id, None) is None:
            return json_response(problem(404, "Not Found", "Connection not found"), 404)
        return Response(status=204)


def _client_from_request() -> Client:
    client_id, secret = request.form.get("client_id"), request.form.get("client_secret")
    header = request.headers.get("Authorization", "")
    if header[:6].lower() == "basic ":
        try:
            client_id, _, secret = base64.b64decode(header[6:]).decode().partition(":")
        except ValueError as exc:
            raise OAuthError("invalid_client") from exc
    return sandbox_state().identity.authenticate_client(client_id, secret)


@bp.route("/connect/token", methods=["POST"])
def token() -> Response:
    st = sandbox_state()
    grant_type = request.form.get("grant_type", "")
    try:
        with st.lock:
            client = _client_from_request()
            if grant_type == "authorization_code":
                body = st.identity.exchange_code(
                    client, request.form.get("code", ""), request.form.get("redirect_uri", "")
                )
            elif grant_type == "refresh_token":
                body = st.identity.refresh(client, request.form.get("refresh_token", ""))
            elif grant_type == "client_credentials":
                body = st.identity.client_credentials(client)
            else:
                raise OAuthError("unsupported_grant_type")
    except OAuthError as exc:
        return json_response(oauth_error(exc.error, exc.description), exc.status)
    return json_response(body, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})


@bp.route("/connect/revocation", methods=["POST"])
def revoke() -> Response:
    st = sandbox_state()
    try:
        with st.lock:
            client = _client_from_request()
            st.identity.revoke(client, request.form.get("token", ""))
    except OAuthError as exc:
        return json_response(oauth_error(exc.error, exc.description), exc.status)
    return Response(status=200)


def _redirect_with(redirect_uri: str, **params: str) -> Response:
    separator = "&" if "?" in redirect_uri else "?"
    return redirect(f"{redirect_uri}{separator}{urlencode({k: v for k, v in params.items() if v})}", code=302)


def _approve(client: Client, redirect_uri: str, scopes: list[str], tenant_ids: list[str], state: str) -> Response:
    st = sandbox_state()
    with st.lock:
        known = [t for t in tenant_ids if t in st.tenants]
        if not known:
            return _redirect_with(redirect_uri, error="access_denied", state=state)
        grant = st.identity.create_grant(client.client_id, scopes, known)
        code = st.identity.issue_code(grant, redirect_uri)
    return _redirect_with(redirect_uri, code=code, scope=" ".join(scopes), state=state)


@bp.route("/identity/connect/authorize", methods=["GET", "POST"])
def authorize() -> Response:
    """A consent page; `auto_approve=<tenantIds|all>` approves without a person, for tests and demos."""
    st = sandbox_state()
    args = request.values
    client = st.identity.clients.get(args.get("client_id", ""))
    redirect_uri = args.get("redirect_uri", "")
    if client is None or not st.identity.redirect_allowed(client, redirect_uri):
        return Response("Invalid client_id or redirect_uri", status=400, content_type="text/plain")
    state = args.get("state", "")
    if args.get("response_type") != "code":
        return _redirect_with(redirect_uri, error="unsupported_response_type", state=state)
    scopes = args.get("scope", "").split()
    if not scopes or any(s not in KNOWN_SCOPES for s in scopes):
        return _redirect_with(redirect_uri, error="invalid_scope", state=state)
    if request.method == "POST":
        if request.form.get("decision") != "allow":
            return _redirect_with(redirect_uri, error="access_denied", state=state)
        return _approve(client, redirect_uri, scopes, request.form.getlist("tenant"), state)
    auto = args.get("auto_approve")
    if auto:
        tenant_ids = list(st.tenants) if auto == "all" else [t.strip() for t in auto.split(",")]
        return _approve(client, redirect_uri, scopes, tenant_ids, state)
    return Response(_consent_page(client, args.to_dict(), st.tenants), content_type="text/html; charset=utf-8")


def _consent_page(client: Client, params: dict[str, str], tenants: dict[str, object]) -> str:
    hidden = "".join(
        f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">' for k, v in params.items()
    )
    boxes = "".join(
        f'<label><input type="checkbox" name="tenant" value="{tid}" checked> '
        f"{html.escape(getattr(t, 'name', tid))}</label><br>"
        for tid, t in tenants.items()
    )
    return (
        f"<!doctype html><title>Sandbox Xero: connect</title><h1>{html.escape(client.name)}</h1>"
        f"<p>wants access to: {html.escape(params.get('scope', ''))}</p>"
        f'<form method="post">{hidden}{boxes}'
        '<button name="decision" value="allow">Allow access</button> '
        '<button name="decision" value="deny">Cancel</button></form>'
    )
