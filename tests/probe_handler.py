"""A handler whose behaviour the test chooses through the payload, to exercise app.dispatch."""

from datetime import UTC, datetime, timedelta

from app.dispatch import JobContext
from app.errors import ConnectionLost, Deferred, Ignored, Permanent, Retryable


def handle(ctx: JobContext) -> dict:
    behaviour = ctx.payload.get("behaviour")
    if behaviour == "retryable":
        raise Retryable("Xero answered 503", retry_after=30)
    if behaviour == "permanent":
        raise Permanent("400 ValidationException", user_message="Xero says: Account code '999' is not a valid code")
    if behaviour == "connection_lost":
        raise ConnectionLost("invalid_grant", user_message="Reconnect Xero")
    if behaviour == "deferred":
        raise Deferred("daily limit", run_at=datetime.now(UTC) + timedelta(hours=3))
    if behaviour == "ignored":
        raise Ignored("created in Xero")
    if behaviour == "crash":
        raise KeyError("unexpected")
    return {"value": ctx.payload.get("value"), "events": len(ctx.triggers), "attempt": ctx.attempt}
