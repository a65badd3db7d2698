"""Which Dataverse user is the connector itself, for the intake's loop guard.

`CONNECTOR_USER_ID` says so explicitly. When it is unset, the worker asks Dataverse (WhoAmI) at start and
records the answer in Redis, where the web process (which may only talk to Redis) reads it. Without either, the
connector's own write-backs come back as events: harmless (a sync that finds nothing to change sends nothing)
but wasted work.
"""

from __future__ import annotations

import logging
import time
import weakref

from redis import Redis
from redis.exceptions import RedisError

from app.errors import ConnectorError

KEY = "connector:dataverse:connector-user"
log = logging.getLogger(__name__)


def remember_connector_user(connection: Redis, user_id: str) -> None:
    connection.set(KEY, user_id.lower())


def recorded_connector_user(connection: Redis) -> str:
    value = connection.get(KEY)
    return value.decode() if value else ""


_REMEMBERED_SECONDS = 30.0  # the recorded id changes once per deployment at most: no Redis call per event
_remembered: weakref.WeakKeyDictionary[Redis, tuple[float, str]] = weakref.WeakKeyDictionary()


def connector_user(configured: str, connection: Redis) -> str:
    """The configured id, else the one a worker recorded (empty when neither is known), kept for 30 s."""
    if configured:
        return configured
    remembered = _remembered.get(connection)
    if remembered is None or not remembered[1] or time.monotonic() - remembered[0] > _REMEMBERED_SECONDS:
        remembered = _remembered[connection] = (time.monotonic(), recorded_connector_user(connection))
    return remembered[1]


def record_connector_user_from_dataverse(connection: Redis) -> str | None:
    """Worker start-up: ask Dataverse who the connector is and record it; never stops the worker."""
    from app.services import services_for  # here, not at the top: the web process never needs the clients

    try:
        services = services_for(connection)
        if services is None:
            return None
        user_id = services.dataverse.whoami().user_id
        remember_connector_user(connection, user_id)
    except (ConnectorError, RedisError) as exc:
        log.warning("could not learn the connector's Dataverse user; set CONNECTOR_USER_ID", extra={"error": str(exc)})
        return None
    log.info("connector's Dataverse user recorded for the loop guard", extra={"user_id": user_id})
    return user_id
