"""Time as the sandbox sees it: real time plus an offset that admins can advance, and scaled durations."""

from __future__ import annotations

import datetime as dt
import threading
import time


class Clock:
    def __init__(self, time_scale: float = 1.0) -> None:
        if time_scale <= 0:
            raise ValueError("time_scale must be positive")
        self.time_scale = time_scale
        self._offset = 0.0
        self._lock = threading.Lock()

    def now(self) -> float:
        """Seconds since the epoch, sandbox time."""
        with self._lock:
            return time.time() + self._offset

    def utcnow(self) -> dt.datetime:
        """Millisecond precision, as Xero stores and reports UpdatedDateUTC."""
        moment = dt.datetime.fromtimestamp(self.now(), tz=dt.UTC)
        return moment.replace(microsecond=moment.microsecond // 1000 * 1000)

    def today(self) -> dt.date:
        return self.utcnow().date()

    def seconds(self, xero_seconds: float) -> float:
        """A Xero duration shrunk (or stretched) by the time scale, in real seconds."""
        return xero_seconds * self.time_scale

    def advance(self, seconds: float) -> None:
        """Jump forward, e.g. to expire a token or a grace period without waiting."""
        with self._lock:
            self._offset += seconds

    def reset(self) -> None:
        with self._lock:
            self._offset = 0.0
