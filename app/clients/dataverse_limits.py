"""Dataverse's service-protection limits shared by every worker through Redis (ARCHITECTURE.md, invariant 7).

Dataverse counts, per user (the connector's application user) and per web server, 6,000 requests in a sliding
5 minutes and 52 concurrent requests, and answers 429 with `Retry-After` past them
(https://learn.microsoft.com/power-apps/developer/data-platform/api-limits). Every worker signs in as the same
user, so one worker's retries alone cannot keep the organisation under the limits: the budget is shared here.

- `slot()` holds one of `concurrent` slots and counts one request in a fixed window of `window_seconds`;
- after a 429, `pause(seconds)` stops every worker for Dataverse's `Retry-After`, not only the one refused;
- a short wait happens in place; a longer one is a `DataverseUnavailable` (Retryable) with the time left, so
  the job is rescheduled instead of holding a worker.

A `$batch` is one request to service protection, which is one more reason the connector batches its writes.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass

from redis import Redis
from redis.exceptions import RedisError

from app.clients.dataverse_errors import DataverseUnavailable

KEY_PREFIX = "connector:dataverse:limit"

# KEYS: inflight zset, window counter, pause key
# ARGV: now ms, slot id, concurrent, per_window, window_len s, slot_ttl s
# Returns {code, wait ms}: 0 taken; 1 paused; 2 concurrent full; 3 window full.
_TAKE = """
local now = tonumber(ARGV[1])
local pause = redis.call('PTTL', KEYS[3])
if pause > 0 then return {1, pause} end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[6]) * 1000)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then return {2, 50} end
local used = tonumber(redis.call('GET', KEYS[2]) or '0')
if used >= tonumber(ARGV[4]) then return {3, redis.call('PTTL', KEYS[2])} end
redis.call('ZADD', KEYS[1], now, ARGV[2])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[6]) * 1000)
if redis.call('INCR', KEYS[2]) == 1 then redis.call('PEXPIRE', KEYS[2], math.floor(tonumber(ARGV[5]) * 1000)) end
return {0, 0}
"""


@dataclass(frozen=True)
class DataverseLimits:
    concurrent: int = 52
    per_window: int = 6000
    window_seconds: float = 300.0
    slot_ttl_seconds: int = 180  # a slot held by a crashed worker frees itself after this


class DataverseLimiter:
    def __init__(
        self,
        connection: Redis,
        org_url: str,
        limits: DataverseLimits | None = None,
        max_wait_seconds: float = 2.0,
    ) -> None:
        self.redis = connection
        self.limits = limits or DataverseLimits()
        self.max_wait_seconds = max_wait_seconds
        base = f"{KEY_PREFIX}:{org_url.lower()}"
        self._keys = [f"{base}:inflight", f"{base}:window", f"{base}:pause"]
        self._take = connection.register_script(_TAKE)

    @contextmanager
    def slot(self) -> Iterator[None]:
        """Hold one request's place in the shared budget while it runs."""
        slot_id = str(uuid.uuid4())
        taken = self._acquire(slot_id)
        try:
            yield
        finally:
            if taken:
                with suppress(RedisError):  # the slot expires on its own
                    self.redis.zrem(self._keys[0], slot_id)

    def _acquire(self, slot_id: str) -> bool:
        limits = self.limits
        deadline = time.monotonic() + self.max_wait_seconds
        while True:
            try:
                code, wait_ms = self._take(
                    keys=self._keys,
                    args=[
                        int(time.time() * 1000),
                        slot_id,
                        limits.concurrent,
                        limits.per_window,
                        limits.window_seconds,
                        limits.slot_ttl_seconds,
                    ],
                )
            except RedisError:
                return False  # without Redis each worker still honours Dataverse's own 429s
            if code == 0:
                return True
            wait = max(int(wait_ms), 1) / 1000
            if time.monotonic() + wait > deadline:
                reason = {1: "paused after a 429", 2: "too many requests in flight", 3: "request budget spent"}[code]
                raise DataverseUnavailable(
                    f"Dataverse service protection: {reason}; retrying in {wait:.1f} s", retry_after=wait, status=429
                )
            time.sleep(wait)

    def pause(self, seconds: float) -> None:
        """Dataverse answered 429: every worker waits out its Retry-After."""
        with suppress(RedisError):
            self.redis.set(self._keys[2], "1", px=max(int(seconds * 1000), 1))
