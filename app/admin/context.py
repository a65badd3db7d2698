"""What the console's pages reach through the running app: the job queue, the remote services, notices."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import current_app, redirect, request, url_for
from werkzeug.wrappers import Response

from app.config import ConfigError
from app.errors import ConnectorError
from app.queue import JobQueue

if TYPE_CHECKING:
    from app.services import Services

# What an action did, shown once on the page it returns to; fixed texts, so a link cannot make the console say
# something it did not (`subject` is only ever shown escaped).
NOTICES = {
    "disconnected": "Disconnected {subject}: its authorisation is revoked and nothing more is synced with it.",
    "import_queued": "The import of {subject}'s reference data is queued; the lists fill in within a minute.",
    "mapping_saved": "Account mapping of {subject} saved.",
    "retry_queued": "{subject}: a new attempt is queued.",
    "retries_queued": "{subject}: a new attempt is queued for each failed invoice.",
    "run_now": "{subject} runs now instead of waiting for its next attempt.",
    "nothing": "{subject}: nothing was waiting.",
}


class NotConfigured(Exception):
    """Dynamics or Xero is not configured for this connector: the page says which settings are missing."""


def jobs() -> JobQueue:
    queue: JobQueue = current_app.extensions["connector.jobs"]
    return queue


def services() -> Services:
    # Imported on first use: the Xero SDK and clients would otherwise slow every web process's start.
    from app.services import services_for

    try:
        found = services_for(jobs().redis)
    except (ConfigError, ConnectorError) as exc:
        raise NotConfigured(getattr(exc, "user_message", str(exc))) from None
    if found is None:
        raise NotConfigured("Dynamics and Xero are not configured for this connector (DATAVERSE_URL, XERO_CLIENT_ID).")
    return found


def back_to(endpoint: str, notice: str, subject: str, **values: str) -> Response:
    """Post/redirect/get: the page the action came from, with one of the fixed notices."""
    return redirect(url_for(endpoint, notice=notice, subject=subject, **values), code=303)


def current_notice() -> str | None:
    template = NOTICES.get(request.args.get("notice", ""))
    if template is None:
        return None
    return template.format(subject=request.args.get("subject", "")[:200])
