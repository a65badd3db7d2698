"""Fault injection switchable at runtime: latency, random 5xx, 429 bursts and commit-then-drop."""

from __future__ import annotations

import random
import threading
from dataclasses import asdict, dataclass
from typing import Any


@dataclass
class FaultConfig:
    latency_ms: float = 0.0  # added to every accounting call
    error_rate: float = 0.0  # share of accounting calls answered with error_status, before any effect
    error_status: int = 503
    fail_next: int = 0  # the next N accounting calls fail with error_status
    rate_limit_next: int = 0  # the next N accounting calls get 429 (X-Rate-Limit-Problem: minute)
    drop_next: int = 0  # the next N writes are committed, then the connection is closed with no answer


class Faults:
    def __init__(self, seed: int) -> None:
        self._lock = threading.Lock()
        self._random = random.Random(seed)
        self.config = FaultConfig()

    def update(self, changes: dict[str, Any]) -> FaultConfig:
        known = set(asdict(self.config))
        unknown = set(changes) - known
        if unknown:
            raise ValueError(f"unknown fault settings: {sorted(unknown)}")
        with self._lock:
            for key, value in changes.items():
                setattr(self.config, key, type(getattr(self.config, key))(value))
            return FaultConfig(**asdict(self.config))

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return asdict(self.config)

    def take_rate_limit(self) -> bool:
        with self._lock:
            if self.config.rate_limit_next > 0:
                self.config.rate_limit_next -= 1
                return True
            return False

    def take_error(self) -> int | None:
        with self._lock:
            if self.config.fail_next > 0:
                self.config.fail_next -= 1
                return self.config.error_status
            if self.config.error_rate > 0 and self._random.random() < self.config.error_rate:
                return self.config.error_status
            return None

    def take_drop(self) -> bool:
        with self._lock:
            if self.config.drop_next > 0:
                self.config.drop_next -= 1
                return True
            return False

    def reset(self) -> None:
        with self._lock:
            self.config = FaultConfig()
