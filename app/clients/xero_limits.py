"""Xero's per-tenant limits enforced across every worker through Redis (ARCHITECTURE.md, invariant 7).

Per tenant: at most `concurrent` calls in flight, `per_minute` calls in a fixed minute window and `per_day` in
a day. A 429 from Xero pauses that tenant (only) for its Retry-After. Going over the daily budget is a
`Deferred` until the window resets; a full minute or a pause is `Retryable` after the time left. One Lua script
makes the check-and-take atomic, so two workers cannot both take the last slot.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

from redis import Redis

from app import metrics
from app.errors import Deferred, Retryable

KEY_PREFIX = "connector:xero:limit"
_BUSY = {1: "paused", 2: "concurrent", 3: "minute", 4: "day"}  # the script's codes, as metric labels

# KEYS: inflight zset, minute counter, day counter, pause key
# ARGV: now, slot id, concurrent, per_minute, per_day, minute_len, day_len, slot_ttl
# Returns {code, wait}: 0 taken (then also the minute's and day's calls so far); 1 paused; 2 concurrent full;
# 3 minute full; 4 day full.
_TAKE = """
local now = tonumber(ARGV[1])
local pause = redis.call('PTTL', KEYS[4])
if pause > 0 then return {1, pause} end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[8]) * 1000)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then return {2, 200} end
local day = tonumber(redis.call('GET', KEYS[3]) or '0')
if day >= tonumber(ARGV[5]) then return {4, redis.call('PTTL', KEYS[3])} end
local minute = tonumber(redis.call('GET', KEYS[2]) or '0')
if minute >= tonumber(ARGV[4]) then return {3, redis.call('PTTL', KEYS[2])} end
redis.call('ZADD', KEYS[1], now, ARGV[2])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[8]) * 1000)
minute = redis.call('INCR', KEYS[2])
if minute == 1 then redis.call('PEXPIRE', KEYS[2], tonumber(ARGV[6]) * 1000) end
day = redis.call('INCR', KEYS[3])
if day == 1 then redis.call('PEXPIRE', KEYS[3], tonumber(ARGV[7]) * 1000) end
return {0, 0, minute, day}
"""


@dataclass(frozen=True)
class XeroLimits:
    concurrent: int = 5
    per_minute: int = 60
    per_day: int = 5000
    minute_seconds: float = 60.0
    day_seconds: float = 86400.0
    slot_ttl_seconds: int = 120  # a slot held by a crashed worker frees itself after this


@dataclass(frozen=True)
class Headroom:
    minute_left: int
    day_left: int
    paused_seconds: float  # after a 429: how long no call is made; 0 when not paused


class TenantLimiter:
    def __init__(self, connection: Redis, limits: XeroLimits | None = None, max_wait_seconds: float = 2.0) -> None:
        self.redis = connection
        self.limits = limits or XeroLimits()
        self.max_wait_seconds = max_wait_seconds  # short waits happen here; longer ones go back to the queue
        self._take = connection.register_script(_TAKE)

    def _keys(self, tenant_id: str) -> list[str]:
        base = f"{KEY_PREFIX}:{tenant_id}"
        return [f"{base}:inflight", f"{base}:minute", f"{base}:day", f"{base}:pause"]

    @contextmanager
    def call(self, tenant_id: str) -> Iterator[None]:
        """Hold one of the tenant's slots for the duration of one Xero call."""
        slot = str(uuid.uuid4())
        self._acquire(tenant_id, slot)
        try:
            yield
        finally:
            self.redis.zrem(self._keys(tenant_id)[0], slot)

    def _acquire(self, tenant_id: str, slot: str) -> None:
        limits = self.limits
        deadline = time.monotonic() + self.max_wait_seconds
        while True:
            code, wait_ms, *used = self._take(
                keys=self._keys(tenant_id),
                args=[
                    int(time.time() * 1000),
                    slot,
                    limits.concurrent,
                    limits.per_minute,
                    limits.per_day,
                    limits.minute_seconds,
                    limits.day_seconds,
                    limits.slot_ttl_seconds,
                ],
            )
            if code == 0:
                metrics.calls_left(tenant_id, limits.per_minute - int(used[0]), limits.per_day - int(used[1]))
                return
            wait = max(int(wait_ms), 1) / 1000
            reason = _BUSY[code]
            if code == 4:
                metrics.LIMITER_GAVE_UP.labels(tenant_id, reason).inc()
                resume = datetime.fromtimestamp(time.time() + wait, tz=UTC)
                raise Deferred(
                    f"Xero daily call limit reached for tenant {tenant_id}",
                    run_at=resume,
                    user_message=f"Xero's daily limit was reached; the sync resumes at {resume:%H:%M} UTC.",
                )
            if time.monotonic() + wait > deadline:
                metrics.LIMITER_GAVE_UP.labels(tenant_id, reason).inc()
                said = {1: "paused after a 429", 2: "5 calls already in flight", 3: "minute limit reached"}[code]
                raise Retryable(f"Xero tenant {tenant_id} busy: {said}", retry_after=wait)
            metrics.LIMITER_WAITS.labels(tenant_id, reason).observe(wait)
            time.sleep(wait)

    def pause(self, tenant_id: str, seconds: float) -> None:
        """After Xero's 429: no worker calls this tenant until Retry-After has passed."""
        self.redis.set(self._keys(tenant_id)[3], "1", px=max(int(seconds * 1000), 1))

    def headroom(self, tenant_id: str) -> Headroom:
        """What the tenant may still spend now (for the admin console); read only, takes nothing."""
        keys = self._keys(tenant_id)
        minute = int(self.redis.get(keys[1]) or 0)
        return Headroom(
            minute_left=max(self.limits.per_minute - minute, 0),
            day_left=self.remaining_today(tenant_id),
            paused_seconds=max(int(self.redis.pttl(keys[3])), 0) / 1000,
        )

    def remaining_today(self, tenant_id: str) -> int:
        used = int(self.redis.get(self._keys(tenant_id)[2]) or 0)
        return max(self.limits.per_day - used, 0)
