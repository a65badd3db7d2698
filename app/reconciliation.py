"""Reconciliation checkpoints in Redis, and the job scope a Xero resource shares with the webhook intake.

A checkpoint is the instant the last successful pass for a connection started; the next pass looks at
changes from there (less an overlap). It only moves forward, and only after a pass succeeded.
"""

from __future__ import annotations

from datetime import UTC, datetime

from redis import Redis

KEY_PREFIX = "connector:reconcile"


def checkpoint_key(connection_id: str) -> str:
    return f"{KEY_PREFIX}:checkpoint:{connection_id.lower()}"


def load_checkpoint(connection: Redis, connection_id: str) -> datetime | None:
    raw = connection.get(checkpoint_key(connection_id))
    return datetime.fromtimestamp(float(raw), UTC) if raw else None


# Sets the checkpoint only when it moves forward (two passes finishing out of order never move it back).
_ADVANCE = """
local current = redis.call('GET', KEYS[1])
if current and tonumber(current) >= tonumber(ARGV[1]) then return 0 end
redis.call('SET', KEYS[1], ARGV[1])
return 1
"""


def advance_checkpoint(connection: Redis, connection_id: str, moment: datetime) -> bool:
    """Record a successful pass that started at `moment`; False when a later one was already recorded."""
    if moment.tzinfo is None:
        raise ValueError("pass an aware datetime")
    return bool(connection.eval(_ADVANCE, 1, checkpoint_key(connection_id), repr(moment.timestamp())))


def delta_link_key(organization_id: str, entity_set: str) -> str:
    return f"{KEY_PREFIX}:delta:{organization_id.lower()}:{entity_set}"


def load_delta_link(connection: Redis, organization_id: str, entity_set: str) -> str | None:
    """Where the last change-tracking read of a Dynamics table left off (None: read the whole table afresh)."""
    raw = connection.get(delta_link_key(organization_id, entity_set))
    return raw.decode() if raw else None


def save_delta_link(connection: Redis, organization_id: str, entity_set: str, link: str) -> None:
    """Only after the changes the link's read returned were queued: following the old link returns them again."""
    connection.set(delta_link_key(organization_id, entity_set), link)
