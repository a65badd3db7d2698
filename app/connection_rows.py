"""Connection rows read from Dataverse, kept in Redis for a short while so a run of jobs reads each row once.

Every job of a bulk run needs its connection's settings; reading the row each time costs a Dataverse request
per invoice. The row (as JSON, never pickled) is kept for `ttl_seconds` and dropped as soon as the connection's
own webhook is handled (`handlers.connection_changed`) or the connector itself writes to the row, so a settings
change applies to the next job.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from redis import Redis
from redis.exceptions import RedisError

KEY_PREFIX = "connector:dataverse:connection-row"
DEFAULT_TTL_SECONDS = 60
log = logging.getLogger(__name__)


class ConnectionRowCache:
    def __init__(self, connection: Redis, ttl_seconds: int = DEFAULT_TTL_SECONDS) -> None:
        self.redis = connection
        self.ttl_seconds = ttl_seconds

    def _key(self, connection_id: str) -> str:
        return f"{KEY_PREFIX}:{connection_id.lower()}"

    def get_or_read(self, connection_id: str, read: Callable[[], dict[str, Any] | None]) -> dict[str, Any] | None:
        """The cached row, else `read()` (cached when found; a missing row is never cached)."""
        key = self._key(connection_id)
        try:
            cached = self.redis.get(key)
        except RedisError:
            cached = None  # the cache is an optimisation: Dataverse still answers
        if cached:
            return dict(json.loads(cached))
        row = read()
        if row is not None:
            try:
                self.redis.set(key, json.dumps(row, default=str), ex=self.ttl_seconds)
            except RedisError:
                log.warning("could not cache the connection row", extra={"connection_id": connection_id})
        return row

    def forget(self, connection_id: str) -> None:
        self.redis.delete(self._key(connection_id))
