"""Outgoing webhooks signed as Xero signs them, batched, retried a bounded number of times, and logged.

A subscription becomes active only after "intent to receive": several POSTs with no events, some signed
with the right key and some with a wrong one; the receiver must answer 200 to the first kind and 401 to the
second, with an empty body and no cookies.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import queue
import random
import secrets
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import requests

RECEIVER_TIMEOUT_SECONDS = 5.0  # Xero allows a receiver 5 seconds


def sign(key: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(key.encode(), body, hashlib.sha256).digest()).decode()


def event_time(moment: dt.datetime) -> str:
    """UTC without a zone marker and with trailing zeros of the fraction trimmed, as Xero writes it."""
    text = moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]
    return text.rstrip("0").rstrip(".")


def payload(events: list[dict[str, Any]], first: int, last: int) -> bytes:
    body = {
        "events": events,
        "firstEventSequence": first,
        "lastEventSequence": last,
        "entropy": secrets.token_hex(10).upper(),
    }
    return json.dumps(body, indent=2).encode()


# The event categories a Xero app's webhook can subscribe to (developer portal: Contacts, Invoices, Credit notes).
CATEGORIES = ("INVOICE", "CONTACT", "CREDITNOTE")


@dataclass
class Subscription:
    url: str | None = None
    key: str = ""
    status: str = "NONE"  # NONE | ACTIVE | INTENT_FAILED
    intent_log: list[dict[str, Any]] = field(default_factory=list)
    # Only events of these categories are sent: Xero sends what the app subscribed to, nothing else.
    categories: frozenset[str] = frozenset(CATEGORIES)


class WebhookDispatcher:
    def __init__(self, key: str, batch_seconds: float, max_attempts: int, retry_seconds: float, seed: int) -> None:
        self.subscription = Subscription(key=key)
        self.batch_seconds = batch_seconds
        self.max_attempts = max_attempts
        self.retry_seconds = retry_seconds
        self.deliveries: list[dict[str, Any]] = []
        self._random = random.Random(seed)
        self.drop_rate = 0.0  # test control: the share of events lost on the way (never sent)
        self._queue: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._sequence = 0
        self._lock = threading.Lock()
        self._pending = 0
        self._idle = threading.Condition(self._lock)
        self._http = requests.Session()
        self._thread = threading.Thread(target=self._run, name="xero-sandbox-webhooks", daemon=True)
        self._thread.start()

    # -- subscription --------------------------------------------------------------------------------
    def subscribe(
        self, url: str | None, key: str | None = None, categories: Iterable[str] | None = None
    ) -> Subscription:
        """Point the subscription at a URL and run intent to receive now; returns the outcome."""
        chosen = frozenset(c.upper() for c in categories) if categories is not None else frozenset(CATEGORIES)
        unknown = chosen - set(CATEGORIES)
        if unknown:
            raise ValueError(f"unknown webhook categories: {sorted(unknown)}")
        with self._lock:
            self.subscription.categories = chosen
            if key:
                self.subscription.key = key
            self.subscription.url = url
            self.subscription.intent_log = []
            self.subscription.status = "NONE"
        if url:
            ok, log = self._intent_to_receive(url, self.subscription.key)
            with self._lock:
                self.subscription.intent_log = log
                self.subscription.status = "ACTIVE" if ok else "INTENT_FAILED"
        return self.subscription

    def _intent_to_receive(self, url: str, key: str) -> tuple[bool, list[dict[str, Any]]]:
        checks = [True, False, True, False]
        self._random.shuffle(checks)
        log, ok = [], True
        for good in checks:
            body = payload([], 0, 0)
            signature = sign(key if good else key + "-wrong", body)
            expected = 200 if good else 401
            entry: dict[str, Any] = {"correctly_signed": good, "expected": expected}
            try:
                response = self._http.post(
                    url,
                    data=body,
                    timeout=RECEIVER_TIMEOUT_SECONDS,
                    headers={"Content-Type": "application/json", "x-xero-signature": signature},
                )
                entry["status"] = response.status_code
                passed = (
                    response.status_code == expected
                    and not response.content
                    and "set-cookie" not in {h.lower() for h in response.headers}
                )
                if response.status_code == expected and not passed:
                    entry["problem"] = "the response must have an empty body and no cookies"
            except requests.RequestException as exc:
                entry["error"] = type(exc).__name__
                passed = False
            entry["passed"] = passed
            ok = ok and passed
            log.append(entry)
        return ok, log

    # -- events ----------------------------------------------------------------------------------------
    def publish(self, events: list[dict[str, Any]]) -> None:
        if not events:
            return
        with self._lock:
            if self.subscription.status != "ACTIVE":
                return
            events = [e for e in events if e.get("eventCategory") in self.subscription.categories]
            if self.drop_rate:
                events = [e for e in events if self._random.random() >= self.drop_rate]
            if not events:
                return
            self._pending += len(events)
        for event in events:
            self._queue.put(event)

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            deadline = time.monotonic() + self.batch_seconds
            stop = False
            while (left := deadline - time.monotonic()) > 0:
                try:
                    event = self._queue.get(timeout=left)
                except queue.Empty:
                    break
                if event is None:
                    stop = True
                    break
                batch.append(event)
            self._deliver(batch)
            with self._lock:
                self._pending -= len(batch)
                self._idle.notify_all()
            if stop:
                return

    def _deliver(self, events: list[dict[str, Any]]) -> None:
        with self._lock:
            url, key = self.subscription.url, self.subscription.key
            first = self._sequence + 1
            self._sequence += len(events)
            last = self._sequence
        body = payload(events, first, last)
        record: dict[str, Any] = {
            "firstEventSequence": first,
            "lastEventSequence": last,
            "events": len(events),
            "url": url,
            "attempts": [],
            "delivered": False,
            "body": body.decode(),
        }
        for attempt in range(self.max_attempts):
            if attempt:
                time.sleep(self.retry_seconds * (2 ** (attempt - 1)))
            try:
                response = self._http.post(
                    url or "",
                    data=body,
                    timeout=RECEIVER_TIMEOUT_SECONDS,
                    headers={"Content-Type": "application/json", "x-xero-signature": sign(key, body)},
                )
                record["attempts"].append({"status": response.status_code})
                if response.status_code == 200:
                    record["delivered"] = True
                    break
            except requests.RequestException as exc:
                record["attempts"].append({"error": type(exc).__name__})
        with self._lock:
            self.deliveries.append(record)

    def wait_idle(self, timeout: float) -> bool:
        """For tests and admins: wait until every published event has been delivered or given up."""
        with self._lock:
            return self._idle.wait_for(lambda: self._pending == 0, timeout)

    def reset(self, key: str) -> None:
        self.wait_idle(10)
        with self._lock:
            self.subscription = Subscription(key=key)
            self.deliveries = []
            self.drop_rate = 0.0
            self._sequence = 0

    def stop(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=5)
        self._http.close()
