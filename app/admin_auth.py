"""Protection for the admin pages and endpoints: one admin token, as a bearer token or a basic-auth password.

Basic auth lets a person open /admin or /xero/connect in a browser (the browser asks for the password); scripts
send `Authorization: Bearer <token>`. Compared in constant time; without a configured token the admin surface is
closed (503) rather than open. Browsers send basic auth on their own, so a form posted from another site must
not ride on it: `same_origin()` is checked before every admin POST.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast
from urllib.parse import urlsplit

from flask import Response, current_app, jsonify, request

from app.config import Settings
from app.webhooks.auth import matches_any

F = TypeVar("F", bound=Callable[..., Any])
REALM = 'Basic realm="Xero connector admin", charset="UTF-8"'


def _offered_secret() -> str | None:
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    if request.authorization and request.authorization.type == "basic":
        return request.authorization.password
    return None


def admin_refusal() -> tuple[Response, int] | None:
    """The answer to a request without the admin token (None when it carries it)."""
    settings: Settings = current_app.config["CONNECTOR_SETTINGS"]
    if not settings.admin_token:
        return jsonify({"error": "the admin pages are disabled: set ADMIN_TOKEN"}), 503
    if not matches_any(_offered_secret(), (settings.admin_token,)):
        response: Response = jsonify({"error": "admin authentication required"})
        response.headers["WWW-Authenticate"] = REALM
        return response, 401
    return None


def same_origin() -> bool:
    """False for a request another site's page made the browser send (its Origin names another host, or the
    browser says so in Sec-Fetch-Site)."""
    if request.headers.get("Sec-Fetch-Site", "").lower() == "cross-site":
        return False
    origin = request.headers.get("Origin")
    return not origin or urlsplit(origin).netloc.lower() == request.host.lower()


def admin_required(view: F) -> F:
    @wraps(view)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        refused = admin_refusal()
        if refused is not None:
            return refused
        return view(*args, **kwargs)

    return cast(F, guarded)
