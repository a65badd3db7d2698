"""Idempotency-Key on writes: same key and same request within the window replays the first answer."""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass

from sandbox.xero.clock import Clock

WINDOW_SECONDS = 6 * 60
MAX_KEY_LENGTH = 128


@dataclass
class StoredResponse:
    fingerprint: str
    status: int
    body: bytes
    headers: dict[str, str]
    stored_at: float


def fingerprint(method: str, path: str, query: str, body: bytes) -> str:
    digest = hashlib.sha256()
    for part in (method.encode(), path.encode(), query.encode(), body):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


class IdempotencyStore:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._lock = threading.Lock()
        self._entries: dict[tuple[str, str], StoredResponse] = {}

    def lookup(self, tenant_id: str, key: str, print_: str) -> StoredResponse | bool | None:
        """The stored response to replay, None when unseen, False when the key was used for another request."""
        with self._lock:
            entry = self._entries.get((tenant_id, key))
            if entry is None or self.clock.now() - entry.stored_at > self.clock.seconds(WINDOW_SECONDS):
                self._entries.pop((tenant_id, key), None)
                return None
            return entry if entry.fingerprint == print_ else False

    def remember(self, tenant_id: str, key: str, entry: StoredResponse) -> None:
        with self._lock:
            self._entries[(tenant_id, key)] = entry

    def reset(self) -> None:
        with self._lock:
            self._entries.clear()
