"""How long one Dataverse call may spend waiting out throttling and gateway errors.

A worker must not sit for minutes on one call: Dataverse's service protection can ask for long pauses, and
a blocked worker starves every other organisation. So a call retries only while the total time it has slept
stays within `RetryPolicy.budget_seconds`; when the next wait would go past it, the call gives up with
`DataverseUnavailable` (Retryable) carrying the wait Dataverse asked for, and the job is rescheduled.

Which failures are retried:
- 429 always: service protection refuses a request before running it, so repeating even a create is safe;
- 502/503/504, other 5xx, timeouts and connection errors only for idempotent requests (GET, PUT, PATCH,
  DELETE, or a POST the caller marks idempotent), because a create may have been applied before its answer
  was lost. For those the caller gets `DataverseUnavailable(outcome_unknown=True)` at once.

urllib3's own Retry is not used: it sleeps for whatever Retry-After says and cannot hand the remaining wait
back as a rescheduling decision.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

RETRY_ON_ANY_METHOD = frozenset({429})
RETRY_WHEN_IDEMPOTENT = frozenset({500, 502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    """Per-call limits. `budget_seconds` bounds the total sleep of one call, not its total duration."""

    budget_seconds: float = 20.0
    max_attempts: int = 6
    backoff_base_seconds: float = 0.5
    backoff_max_seconds: float = 8.0

    def backoff(self, attempt: int) -> float:
        """The wait after failed attempt number `attempt` (1-based) when the server named none."""
        return min(self.backoff_base_seconds * (2 ** (attempt - 1)), self.backoff_max_seconds)


def parse_retry_after(value: str | None, now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> float | None:
    """Seconds to wait from a Retry-After header: a number of seconds, or an HTTP date. None if absent or bad."""
    if not value or not value.strip():
        return None
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now()).total_seconds())


@dataclass
class RetryBudget:
    """The retry state of one call: attempts made and seconds slept so far."""

    policy: RetryPolicy
    sleep: Callable[[float], None] = time.sleep
    attempts: int = 0
    slept: float = 0.0
    waits: list[float] = field(default_factory=list)

    def begin_attempt(self) -> None:
        self.attempts += 1

    def next_wait(self, server_wait: float | None) -> float | None:
        """The wait before the next attempt, or None when the attempts or the time budget are used up."""
        wait = server_wait if server_wait is not None else self.policy.backoff(self.attempts)
        if self.attempts >= self.policy.max_attempts or self.slept + wait > self.policy.budget_seconds:
            return None
        return wait

    def pause(self, wait: float) -> None:
        self.sleep(wait)
        self.slept += wait
        self.waits.append(wait)

    def suggested_retry_after(self, server_wait: float | None) -> float:
        """What to tell the scheduler once giving up: the server's wait if it named one, else the next backoff."""
        return server_wait if server_wait is not None else self.policy.backoff(self.attempts)
