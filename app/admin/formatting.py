"""How the console shows times and durations: UTC, to the minute, and ages in words a person reads at a glance."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Blueprint

from app.admin.context import current_notice


def as_datetime(value: Any) -> datetime | None:
    """A Dataverse ISO-8601 text, an epoch number or a datetime, as an aware UTC datetime (None when empty)."""
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, int | float):
        moment = datetime.fromtimestamp(value, UTC)
    else:
        try:
            moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def when(value: Any) -> str:
    moment = as_datetime(value)
    return f"{moment.astimezone(UTC):%d %b %Y %H:%M} UTC" if moment else "—"


def when_exact(value: Any) -> str:
    """To the second: a timeline's webhook, job and Xero calls often share a minute."""
    moment = as_datetime(value)
    return f"{moment.astimezone(UTC):%d %b %Y %H:%M:%S} UTC" if moment else "—"


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    seconds = max(int(seconds), 0)
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    if seconds < 172800:
        return f"{seconds // 3600} h"
    return f"{seconds // 86400} days"


def register(blueprint: Blueprint) -> None:
    blueprint.add_app_template_filter(when, "when")
    blueprint.add_app_template_filter(when_exact, "when_exact")
    blueprint.add_app_template_filter(duration, "duration")

    @blueprint.context_processor
    def notice() -> dict[str, Any]:
        return {"notice": current_notice()}
