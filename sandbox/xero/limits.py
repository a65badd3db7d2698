"""Xero's API limits per tenant (concurrent, minute, day) and per app (minute), in fixed windows.

As Xero does, every answer (429s included) says what is left of each limit in `X-DayLimit-Remaining`,
`X-MinLimit-Remaining` and `X-AppMinLimit-Remaining` (https://developer.xero.com/faq/limits,
https://developer.xero.com/documentation/guides/oauth2/limits/).
"""

from __future__ import annotations

import math
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sandbox.xero.clock import Clock
from sandbox.xero.settings import Limits

MINUTE = 60
DAY = 24 * 3600


@dataclass
class _Window:
    started: float = 0.0
    count: int = 0

    def roll(self, now: float, length: float) -> None:
        if now - self.started >= length:
            self.started, self.count = now, 0

    def retry_after(self, now: float, length: float) -> int:
        return max(1, math.ceil(self.started + length - now))


@dataclass
class TenantUsage:
    minute: _Window = field(default_factory=_Window)
    day: _Window = field(default_factory=_Window)
    in_flight: int = 0
    calls: int = 0
    rejected: int = 0
    endpoints: Counter[str] = field(default_factory=Counter)  # "METHOD Endpoint" -> calls, for benchmarks


@dataclass
class Decision:
    allowed: bool
    problem: str = ""
    retry_after: int = 0
    headers: dict[str, str] = field(default_factory=dict)


class RateLimiter:
    def __init__(self, clock: Clock, limits: Limits) -> None:
        self.clock = clock
        self.limits = limits
        self._lock = threading.Lock()
        self._tenants: dict[str, TenantUsage] = {}
        self._app = _Window()

    def _headers(self, usage: TenantUsage) -> dict[str, str]:
        return {
            "X-DayLimit-Remaining": str(max(0, self.limits.per_day - usage.day.count)),
            "X-MinLimit-Remaining": str(max(0, self.limits.per_minute - usage.minute.count)),
            "X-AppMinLimit-Remaining": str(max(0, self.limits.app_per_minute - self._app.count)),
        }

    def acquire(self, tenant_id: str, endpoint: str = "") -> Decision:
        """Count one call, or refuse it with the problem Xero would name and when to come back."""
        minute, day = self.clock.seconds(MINUTE), self.clock.seconds(DAY)
        with self._lock:
            now = self.clock.now()
            usage = self._tenants.setdefault(tenant_id, TenantUsage())
            usage.minute.roll(now, minute)
            usage.day.roll(now, day)
            self._app.roll(now, minute)
            refusal = None
            if usage.day.count >= self.limits.per_day:
                refusal = ("day", usage.day.retry_after(now, day))
            elif usage.in_flight >= self.limits.concurrent:
                refusal = ("concurrent", 1)
            elif usage.minute.count >= self.limits.per_minute:
                refusal = ("minute", usage.minute.retry_after(now, minute))
            elif self._app.count >= self.limits.app_per_minute:
                refusal = ("appminute", self._app.retry_after(now, minute))
            if refusal:
                usage.rejected += 1
                return Decision(False, refusal[0], refusal[1], self._headers(usage))
            usage.minute.count += 1
            usage.day.count += 1
            self._app.count += 1
            usage.in_flight += 1
            usage.calls += 1
            if endpoint:
                usage.endpoints[endpoint] += 1
            return Decision(True, headers=self._headers(usage))

    def release(self, tenant_id: str) -> None:
        with self._lock:
            usage = self._tenants.get(tenant_id)
            if usage and usage.in_flight > 0:
                usage.in_flight -= 1

    def headers_for(self, tenant_id: str) -> dict[str, str]:
        with self._lock:
            return self._headers(self._tenants.setdefault(tenant_id, TenantUsage()))

    def usage(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            return {
                tid: {
                    "calls": u.calls,
                    "rejected": u.rejected,
                    "in_flight": u.in_flight,
                    "minute": u.minute.count,
                    "day": u.day.count,
                    "endpoints": dict(u.endpoints),
                }
                for tid, u in self._tenants.items()
            }

    def reset(self) -> None:
        with self._lock:
            self._tenants.clear()
            self._app = _Window()
