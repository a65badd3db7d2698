"""Sandbox-only admin endpoints under /_sandbox (header `X-Sandbox-Admin-Token`); see README.md."""

from __future__ import annotations

import secrets
from dataclasses import asdict
from typing import Any

from flask import Blueprint, Response, request

from sandbox.xero import render
from sandbox.xero.identity import KNOWN_SCOPES
from sandbox.xero.web import json_response, sandbox_state
from sandbox.xero.xjson import parse_date

bp = Blueprint("xero_sandbox_admin", __name__, url_prefix="/_sandbox")
DEFAULT_SCOPES = [
    "openid",
    "profile",
    "email",
    "offline_access",
    "accounting.invoices",
    "accounting.payments.read",
    "accounting.contacts",
    "accounting.settings",
]


@bp.before_request
def _require_admin() -> Response | None:
    given = request.headers.get("X-Sandbox-Admin-Token", "")
    if not secrets.compare_digest(given, sandbox_state().settings.admin_token):
        return json_response({"error": "admin token required"}, 401)
    return None


def _body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    return body if isinstance(body, dict) else {}


@bp.post("/reset")
def reset() -> Response:
    sandbox_state().reset()
    return json_response({"reset": True})


@bp.get("/tenants")
def tenants() -> Response:
    st = sandbox_state()
    with st.lock:
        return json_response(
            [
                {
                    "tenantId": t.tenant_id,
                    "name": t.name,
                    "shortCode": t.organisation["ShortCode"],
                    "baseCurrency": t.base_currency,
                }
                for t in st.tenants.values()
            ]
        )


@bp.get("/state/<tenant_id>")
def tenant_state(tenant_id: str) -> Response:
    st = sandbox_state()
    with st.lock:
        tenant = st.tenants.get(tenant_id)
        if tenant is None:
            return json_response({"error": "unknown tenant"}, 404)
        today = st.clock.today()
        return json_response(
            {
                "Organisation": tenant.organisation,
                "Contacts": [render.contact(tenant, c, today) for c in tenant.contacts.values()],
                "Items": [render.item(i) for i in tenant.items.values()],
                "Invoices": [render.invoice(tenant, i) for i in tenant.invoices.values()],
                "CreditNotes": [render.credit_note(tenant, c) for c in tenant.credit_notes.values()],
                "Payments": [render.payment(tenant, p) for p in tenant.payments.values()],
            }
        )


@bp.put("/organisation/<tenant_id>")
def organisation_settings(tenant_id: str) -> Response:
    """Settings a Xero admin changes on screen: {"PeriodLockDate": "2026-03-31" | null, "EndOfYearLockDate": …,
    "Currencies": ["GBP", "EUR"]}."""
    st = sandbox_state()
    body = _body()
    with st.lock:
        tenant = st.tenants.get(tenant_id)
        if tenant is None:
            return json_response({"error": "unknown tenant"}, 404)
        try:
            for key in ("PeriodLockDate", "EndOfYearLockDate"):
                if key in body:
                    if body[key]:
                        tenant.organisation[key] = parse_date(body[key])
                    else:
                        tenant.organisation.pop(key, None)  # Xero shows a lock date only when one is set
        except ValueError as exc:
            return json_response({"error": str(exc)}, 400)
        if "Currencies" in body:
            codes = body["Currencies"]
            if not isinstance(codes, list) or not all(isinstance(c, str) and len(c) == 3 for c in codes):
                return json_response({"error": "Currencies must be a list of ISO codes"}, 400)
            tenant.currencies = [{"Code": c.upper(), "Description": c.upper()} for c in codes]
        return json_response({"Organisation": tenant.organisation, "Currencies": tenant.currencies})


@bp.get("/calls")
def calls() -> Response:
    return json_response(sandbox_state().limiter.usage())


@bp.route("/faults", methods=["GET", "PUT"])
def faults() -> Response:
    st = sandbox_state()
    if request.method == "PUT":
        try:
            st.faults.update(_body())
        except (ValueError, TypeError) as exc:
            return json_response({"error": str(exc)}, 400)
    return json_response(st.faults.snapshot())


@bp.route("/limits", methods=["GET", "PUT"])
def limits() -> Response:
    st = sandbox_state()
    if request.method == "PUT":
        changes = _body()
        unknown = [key for key in changes if not hasattr(st.limiter.limits, key)]
        if unknown:
            return json_response({"error": f"unknown limits {unknown}"}, 400)
        try:
            values = {key: int(value) for key, value in changes.items()}
        except (TypeError, ValueError):
            return json_response({"error": "limits must be integers"}, 400)
        for key, value in values.items():
            setattr(st.limiter.limits, key, value)
    return json_response(asdict(st.limiter.limits))


@bp.route("/webhooks", methods=["GET", "PUT"])
def webhooks() -> Response:
    """PUT {"url": ..., "key": ..., "categories": [...]} runs intent to receive at once and answers with the
    outcome; {"dropRate": 0.1} alone loses that share of the events from now on (a test control)."""
    dispatcher = sandbox_state().webhooks
    if request.method == "PUT":
        body = _body()
        if "dropRate" in body:
            rate = body["dropRate"]
            if not isinstance(rate, int | float) or isinstance(rate, bool) or not 0 <= rate <= 1:
                return json_response({"error": "dropRate must be a number from 0 to 1"}, 400)
            dispatcher.drop_rate = float(rate)
        if "url" in body:
            categories = body.get("categories")
            if categories is not None and (
                not isinstance(categories, list) or not all(isinstance(c, str) for c in categories)
            ):
                return json_response({"error": "categories must be a list of names"}, 400)
            try:
                dispatcher.subscribe(body.get("url"), body.get("key"), categories)
            except ValueError as exc:
                return json_response({"error": str(exc)}, 400)
    sub = dispatcher.subscription
    return json_response(
        {
            "url": sub.url,
            "status": sub.status,
            "categories": sorted(sub.categories),
            "dropRate": dispatcher.drop_rate,
            "intentLog": sub.intent_log,
            "deliveries": list(dispatcher.deliveries),
        }
    )


@bp.post("/webhooks/flush")
def flush_webhooks() -> Response:
    idle = sandbox_state().webhooks.wait_idle(float(request.args.get("timeout", "10")))
    return json_response({"idle": idle}, 200 if idle else 504)


@bp.post("/tokens")
def mint_token() -> Response:
    """A token set for chosen tenants and scopes without the consent page."""
    st = sandbox_state()
    body = _body()
    scopes = body.get("scopes") or DEFAULT_SCOPES
    if any(s not in KNOWN_SCOPES for s in scopes):
        return json_response({"error": "invalid_scope"}, 400)
    with st.lock:
        tenant_ids = body.get("tenantIds") or list(st.tenants)
        if any(t not in st.tenants for t in tenant_ids):
            return json_response({"error": "unknown tenant"}, 400)
        client_id = body.get("clientId") or st.settings.client_id
        return json_response(st.identity.mint(client_id, list(scopes), list(tenant_ids)))


@bp.post("/clock")
def clock() -> Response:
    st = sandbox_state()
    st.clock.advance(float(_body().get("advanceSeconds", 0)))
    return json_response({"now": st.clock.now()})
