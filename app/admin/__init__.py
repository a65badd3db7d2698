"""The admin console at /admin: server-rendered pages for a finance admin, behind the admin token.

One blueprint; each page is a module of its own (connections, mapping, activity, attention, queues) with the
reading it needs. Every page and action requires the admin token (basic auth in a browser), and every POST must
come from the console's own pages (same origin). Failures of Dynamics or Xero become a page saying what to do,
never a traceback: 503 when a dependency is down, 502 when it refused.
"""

from __future__ import annotations

import logging

from flask import Blueprint, Response, render_template, request
from redis.exceptions import RedisError

from app.admin import formatting
from app.admin.context import NotConfigured
from app.admin_auth import admin_refusal, same_origin
from app.errors import ConnectorError, Retryable

log = logging.getLogger(__name__)
blueprint = Blueprint("admin", __name__, url_prefix="/admin", template_folder="templates")
formatting.register(blueprint)


def problem(title: str, text: str, status: int) -> tuple[str, int]:
    return render_template("admin/problem.html", title=title, text=text), status


@blueprint.before_request
def guard() -> tuple[Response, int] | tuple[str, int] | None:
    refused = admin_refusal()
    if refused is not None:
        return refused
    if request.method == "POST" and not same_origin():
        return problem("Refused", "This request came from another site.", 403)
    return None


@blueprint.after_request
def no_store(response: Response) -> Response:
    # Pages show live state and carry action forms: never cached, never framed by another site.
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Frame-Options"] = "DENY"
    return response


@blueprint.errorhandler(404)
def not_found(exc: Exception) -> tuple[str, int]:
    return problem("Not found", "Nothing with this id exists; it may have been deleted.", 404)


@blueprint.errorhandler(NotConfigured)
def not_configured(exc: NotConfigured) -> tuple[str, int]:
    return problem("Not configured", str(exc), 503)


@blueprint.errorhandler(ConnectorError)
def remote_failed(exc: ConnectorError) -> tuple[str, int]:
    log.warning("admin console could not complete a request", extra={"detail": str(exc)})
    if isinstance(exc, Retryable):
        return problem("Try again", f"{exc.user_message} Nothing was changed; try again in a moment.", 503)
    return problem("Could not complete", exc.user_message, 502)


@blueprint.errorhandler(RedisError)
def redis_down(exc: RedisError) -> tuple[str, int]:
    log.warning("admin console cannot reach Redis", extra={"detail": type(exc).__name__})
    return problem("Try again", "The connector's Redis cannot be reached; try again in a moment.", 503)


# The pages register their routes on the blueprint when imported.
from app.admin import activity, attention, connections, mapping, queues  # noqa: E402

__all__ = ["activity", "attention", "blueprint", "connections", "mapping", "queues"]
