"""Xero's per-tenant limits enforced across every worker through Redis (ARCHITECTURE.md, invariant 7).

Per tenant: at most `concurrent` calls in flight, `per_minute` calls in a fixed minute window and a daily budget;
per app: `app_per_minute` calls across all tenants. A 429 from Xero pauses that tenant (only) for its Retry-After.
Going over the daily budget is a `Deferred` until the window resets; a full minute or a pause is `Retryable`
after the time left. One Lua script makes the check-and-take atomic, so two workers cannot both take the last
slot.

Xero's own figures win: every answer carries `X-MinLimit-Remaining`, `X-DayLimit-Remaining` and
`X-AppMinLimit-Remaining` (https://developer.xero.com/faq/limits), and `observe` sets the shared counters from
them (upwards only), so calls made by another app instance or a restart that lost the counters are accounted
for and no call is spent on a certain 429.

The daily budget is Xero's limit (5,000; smaller app tiers allow fewer) and can be set per organisation
(`set_day_budget`). A share of it (`reserved_share`) is kept for essential work: payments coming back from Xero
and reconciliation. Bulk sending (`essential=False`) stops at the budget minus that share, so a month-end run
defers to the reset instead of starving them.
"""

from __future__ import annotations

import math
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime

from redis import Redis
from redis.exceptions import RedisError

from app import metrics
from app.errors import Deferred, Retryable

KEY_PREFIX = "connector:xero:limit"
APP_MINUTE_KEY = f"{KEY_PREFIX}:app:minute"

_BUSY = {1: "paused", 2: "concurrent", 3: "minute", 4: "day", 5: "appminute", 6: "day"}  # metric labels

# KEYS: inflight zset, minute counter, day counter, pause key, day budget, app minute counter
# ARGV: now, slot id, concurrent, per_minute, per_day, minute_len, day_len, slot_ttl, app_per_minute,
#       reserved_share, essential (1/0)
# Returns {code, wait}: 0 taken (then also the minute's and day's calls so far); 1 paused; 2 concurrent full;
# 3 minute full; 4 day full; 5 app minute full; 6 bulk share of the day spent.
_TAKE = """
local now = tonumber(ARGV[1])
local pause = redis.call('PTTL', KEYS[4])
if pause > 0 then return {1, pause} end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[8]) * 1000)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then return {2, 200} end
local per_day = tonumber(redis.call('GET', KEYS[5]) or ARGV[5])
local day = tonumber(redis.call('GET', KEYS[3]) or '0')
local day_wait = redis.call('PTTL', KEYS[3])
if day_wait < 0 then day_wait = tonumber(ARGV[7]) * 1000 end
if day >= per_day then return {4, day_wait} end
if ARGV[11] ~= '1' and day >= math.floor(per_day * (1 - tonumber(ARGV[10]))) then return {6, day_wait} end
local minute = tonumber(redis.call('GET', KEYS[2]) or '0')
if minute >= tonumber(ARGV[4]) then return {3, redis.call('PTTL', KEYS[2])} end
local app = tonumber(redis.call('GET', KEYS[6]) or '0')
if app >= tonumber(ARGV[9]) then return {5, redis.call('PTTL', KEYS[6])} end
redis.call('ZADD', KEYS[1], now, ARGV[2])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[8]) * 1000)
local minute_now = redis.call('INCR', KEYS[2])
if minute_now == 1 then redis.call('PEXPIRE', KEYS[2], tonumber(ARGV[6]) * 1000) end
local day_now = redis.call('INCR', KEYS[3])
if day_now == 1 then redis.call('PEXPIRE', KEYS[3], tonumber(ARGV[7]) * 1000) end
if redis.call('INCR', KEYS[6]) == 1 then redis.call('PEXPIRE', KEYS[6], tonumber(ARGV[6]) * 1000) end
return {0, 0, minute_now, day_now}
"""

# Raise a counter to what Xero says is used. Never lowered: our own count already includes every call this app
# started (some may not have reached Xero yet), and our limits may be stricter than Xero's (a per-organisation
# budget), so a large remaining figure from Xero says nothing about our budget.
# KEYS: counter; ARGV: limit, remaining, window_len (s)
_OBSERVE = """
local used = tonumber(ARGV[1]) - tonumber(ARGV[2])
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if used <= current then return current end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then ttl = math.floor(tonumber(ARGV[3]) * 1000) end
redis.call('SET', KEYS[1], used, 'PX', ttl)
return used
"""

_HEADERS = {
    "minute": "x-minlimit-remaining",
    "day": "x-daylimit-remaining",
    "app": "x-appminlimit-remaining",
}


@dataclass(frozen=True)
class XeroLimits:
    concurrent: int = 5
    per_minute: int = 60
    per_day: int = 5000
    app_per_minute: int = 10_000
    reserved_share: float = 0.1  # of the daily budget, kept for payments-back and reconciliation
    minute_seconds: float = 60.0
    day_seconds: float = 86400.0
    slot_ttl_seconds: int = 120  # a slot held by a crashed worker frees itself after this


@dataclass(frozen=True)
class Headroom:
    minute_left: int
    day_left: int
    paused_seconds: float  # after a 429: how long no call is made; 0 when not paused


def remaining_from_headers(headers: Mapping[str, str] | None) -> dict[str, int]:
    """Xero's remaining-call figures from an answer's headers (names compared without case)."""
    if not headers:
        return {}
    lowered = {str(k).lower(): v for k, v in headers.items()}
    found = {}
    for name, header in _HEADERS.items():
        try:
            found[name] = int(str(lowered[header]).strip())
        except (KeyError, ValueError):
            continue
    return found


class TenantLimiter:
    def __init__(self, connection: Redis, limits: XeroLimits | None = None, max_wait_seconds: float = 2.0) -> None:
        self.redis = connection
        self.limits = limits or XeroLimits()
        self.max_wait_seconds = max_wait_seconds  # short waits happen here; longer ones go back to the queue
        self._take = connection.register_script(_TAKE)
        self._observe = connection.register_script(_OBSERVE)

    def _keys(self, tenant_id: str) -> list[str]:
        base = f"{KEY_PREFIX}:{tenant_id}"
        return [
            f"{base}:inflight",
            f"{base}:minute",
            f"{base}:day",
            f"{base}:pause",
            f"{base}:budget",
            APP_MINUTE_KEY,
        ]

    @contextmanager
    def call(self, tenant_id: str, *, essential: bool = False) -> Iterator[None]:
        """Hold one of the tenant's slots for the duration of one Xero call.

        `essential` calls (payments-back, reconciliation) may use the reserved share of the daily budget."""
        slot = str(uuid.uuid4())
        self._acquire(tenant_id, slot, essential)
        try:
            yield
        finally:
            self.redis.zrem(self._keys(tenant_id)[0], slot)

    def _acquire(self, tenant_id: str, slot: str, essential: bool) -> None:
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
                    limits.app_per_minute,
                    limits.reserved_share,
                    1 if essential else 0,
                ],
            )
            if code == 0:
                metrics.calls_left(tenant_id, limits.per_minute - int(used[0]), limits.per_day - int(used[1]))
                return
            wait = max(int(wait_ms), 1) / 1000
            reason = _BUSY[code]
            if code in (4, 6):
                metrics.LIMITER_GAVE_UP.labels(tenant_id, reason).inc()
                raise _day_spent(tenant_id, wait, bulk=code == 6)
            if time.monotonic() + wait > deadline:
                metrics.LIMITER_GAVE_UP.labels(tenant_id, reason).inc()
                said = {
                    1: "paused after a 429",
                    2: f"{limits.concurrent} calls already in flight",
                    3: "minute limit reached",
                    5: "the app's minute limit across all organisations reached",
                }[code]
                raise Retryable(f"Xero tenant {tenant_id} busy: {said}", retry_after=wait)
            metrics.LIMITER_WAITS.labels(tenant_id, reason).observe(wait)
            time.sleep(wait)

    def observe(self, tenant_id: str, headers: Mapping[str, str] | None) -> None:
        """Raise the shared counters to Xero's `X-…Limit-Remaining` figures of one answer.

        A correction only: a Redis failure here never fails a call Xero has already answered."""
        remaining = remaining_from_headers(headers)
        if not remaining:
            return
        keys = self._keys(tenant_id)
        limits = self.limits
        with suppress(RedisError):
            figures = {
                "minute": (keys[1], limits.per_minute, limits.minute_seconds),
                "day": (keys[2], self.day_budget(tenant_id), limits.day_seconds),
                "app": (keys[5], limits.app_per_minute, limits.minute_seconds),
            }
            for name, left in remaining.items():
                key, limit, window = figures[name]
                self._observe(keys=[key], args=[limit, left, window])

    def pause(self, tenant_id: str, seconds: float) -> None:
        """After Xero's 429: no worker calls this tenant until Retry-After has passed."""
        self.redis.set(self._keys(tenant_id)[3], "1", px=max(int(seconds * 1000), 1))

    def set_day_budget(self, tenant_id: str, calls: int | None) -> None:
        """This organisation's daily budget (a smaller app tier, say); None goes back to the default."""
        if calls is None:
            self.redis.delete(self._keys(tenant_id)[4])
        elif calls <= 0:
            raise ValueError("a daily budget must be a positive number of calls")
        else:
            self.redis.set(self._keys(tenant_id)[4], int(calls))

    def day_budget(self, tenant_id: str) -> int:
        value = self.redis.get(self._keys(tenant_id)[4])
        return int(value) if value else self.limits.per_day

    def headroom(self, tenant_id: str) -> Headroom:
        """What the tenant may still spend now (for the admin console); read only, takes nothing."""
        keys = self._keys(tenant_id)
        minute = int(self.redis.get(keys[1]) or 0)
        return Headroom(
            minute_left=max(self.limits.per_minute - minute, 0),
            day_left=self.remaining_today(tenant_id),
            paused_seconds=max(int(self.redis.pttl(keys[3])), 0) / 1000,
        )

    def remaining_today(self, tenant_id: str, *, essential: bool = True) -> int:
        used = int(self.redis.get(self._keys(tenant_id)[2]) or 0)
        budget = self.day_budget(tenant_id)
        if not essential:
            budget = math.floor(budget * (1 - self.limits.reserved_share))
        return max(budget - used, 0)


def _day_spent(tenant_id: str, wait: float, *, bulk: bool) -> Deferred:
    resume = datetime.fromtimestamp(time.time() + wait, tz=UTC)
    if bulk:
        return Deferred(
            f"Xero daily budget for bulk sending spent for tenant {tenant_id} (the rest is reserved)",
            run_at=resume,
            user_message=(
                "Today's Xero call budget for sending invoices is used up (the rest is kept for payments and "
                f"reconciliation); the sync resumes at {resume:%H:%M} UTC."
            ),
        )
    return Deferred(
        f"Xero daily call limit reached for tenant {tenant_id}",
        run_at=resume,
        user_message=f"Xero's daily limit was reached; the sync resumes at {resume:%H:%M} UTC.",
    )
