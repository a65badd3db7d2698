"""One sandbox organisation: schema, rows, users and tokens, request budget and the webhook dispatcher."""

from __future__ import annotations

import threading
from collections import Counter

from sandbox.dataverse.dispatcher import WebhookDispatcher
from sandbox.dataverse.queries import Reader
from sandbox.dataverse.records import Records
from sandbox.dataverse.schema import build_system_schema
from sandbox.dataverse.seed import ADMIN_USERS, DEFAULT_TOKENS, seed
from sandbox.dataverse.settings import DataverseSandboxSettings
from sandbox.dataverse.store import Store
from sandbox.dataverse.throttle import RequestBudget


class DataverseSandbox:
    """Everything one sandbox organisation holds: schema, rows, users, budget and the webhook dispatcher."""

    def __init__(self, settings: DataverseSandboxSettings):
        self.settings = settings
        self.tokens: dict[str, str] = dict(DEFAULT_TOKENS)
        self.admins: set[str] = set(ADMIN_USERS)
        self.budget = RequestBudget(
            settings.request_budget, settings.budget_window_seconds, settings.retry_after_seconds
        )
        self.requests: Counter[str] = Counter()  # "METHOD resource" -> count, for benchmarks and tests
        self._requests_lock = threading.Lock()
        self._build()
        self.dispatcher = WebhookDispatcher(self.records, self.reader, settings)
        self.store.on_commit = self.dispatcher.on_commit
        self.store.before_commit = self.dispatcher.before_commit

    def _build(self) -> None:
        self.store = Store(build_system_schema())
        self.records = Records(self.store)
        self.reader = Reader(self.store)
        if self.settings.seed:
            seed(self.records)

    def reset(self) -> None:
        """Back to the seeded state: data, custom metadata, registrations and the delivery log."""
        self.dispatcher.wait_idle(timeout=self.settings.webhook_timeout_seconds * 2 + 5)
        self._build()
        self.dispatcher.records, self.dispatcher.reader = self.records, self.reader
        self.dispatcher.reset()
        self.tokens, self.admins = dict(DEFAULT_TOKENS), set(ADMIN_USERS)
        self.store.on_commit = self.dispatcher.on_commit
        self.store.before_commit = self.dispatcher.before_commit
        self.budget.configure(self.settings.request_budget)

    def count_request(self, method: str, path: str) -> None:
        resource = path.split("/", 1)[0].split("(", 1)[0] or "/"
        with self._requests_lock:
            self.requests[f"{method} {resource}"] += 1

    def request_counts(self, *, clear: bool = False) -> dict[str, int]:
        with self._requests_lock:
            counts = dict(self.requests)
            if clear:
                self.requests.clear()
        return counts

    def wait_for_webhooks(self, timeout: float = 30.0) -> bool:
        return self.dispatcher.wait_idle(timeout)
