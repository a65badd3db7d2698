"""Service protection: a per-user request budget over a sliding window, answered with 429 + Retry-After."""

from __future__ import annotations

import threading
import time
from collections import deque

from sandbox.dataverse.errors import THROTTLED, DataverseError


class RequestBudget:
    def __init__(self, budget: int | None, window_seconds: float, retry_after_seconds: int):
        self.budget = budget
        self.window_seconds = window_seconds
        self.retry_after_seconds = retry_after_seconds
        self._seen: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def configure(
        self, budget: int | None, window_seconds: float | None = None, retry_after_seconds: int | None = None
    ) -> None:
        with self._lock:
            self.budget = budget
            if window_seconds is not None:
                self.window_seconds = window_seconds
            if retry_after_seconds is not None:
                self.retry_after_seconds = retry_after_seconds
            self._seen.clear()

    def spend(self, user_id: str) -> None:
        """Count one request for `user_id`; raise the Dataverse 429 when the budget is used up."""
        with self._lock:
            if self.budget is None:
                return
            now = time.monotonic()
            seen = self._seen.setdefault(user_id, deque())
            while seen and seen[0] <= now - self.window_seconds:
                seen.popleft()
            if len(seen) >= self.budget:
                raise DataverseError(
                    429,
                    THROTTLED,
                    f"Number of requests exceeded the limit of {self.budget} over time window of "
                    f"{int(self.window_seconds)} seconds.",
                    headers={"Retry-After": str(self.retry_after_seconds)},
                )
            seen.append(now)
